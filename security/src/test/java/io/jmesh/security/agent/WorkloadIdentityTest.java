package io.jmesh.security.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.security.testing.TestMeshCa;

/**
 * The identity a node agent gets is the one its credential proves, end to end through the real agent and CA: with
 * its own service account's token it gets exactly {@code spiffe://cluster.local/ns/<ns>/sa/<sa>} as the only SAN;
 * configured for another service account than its token's, the CA refuses it ({@code PERMISSION_DENIED}) and it
 * serves no certificate at all.
 */
class WorkloadIdentityTest {

    @TempDir
    Path dir;

    private TestMeshCa ca;
    private NodeAgent agent;

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (ca != null) {
            ca.close();
        }
    }

    private NodeAgent start(String serviceAccount, Path token) throws Exception {
        AgentOptions options = AgentOptions.builder().namespace("default").serviceAccount(serviceAccount)
                .certTtl(Duration.ofHours(1)).build();
        return NodeAgent.start(options, IstioCaClient.create(ca.address(), ca.rootFile(), token),
                dir.resolve(serviceAccount + ".sock"), AgentScheduler.system());
    }

    private static void poll(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what + ": not reached within 10 s");
    }

    @Test
    void theIssuedIdentityIsTheWorkloadsServiceAccount() throws Exception {
        ca = TestMeshCa.start(dir.resolve("ca"), "default", "reviews", "ratings");
        agent = start("ratings", ca.tokenFile("ratings"));
        poll(() -> agent.secrets().current() != null, "the agent's first certificate");
        X509Certificate leaf = agent.secrets().current().leaf();
        assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/default/sa/ratings")),
                leaf.getSubjectAlternativeNames().stream().map(List::copyOf).toList());
    }

    @Test
    void aWorkloadAskingForAnotherIdentityIsRefused() throws Exception {
        ca = TestMeshCa.start(dir.resolve("ca"), "default", "reviews", "ratings");
        // The ratings workload's agent, configured as reviews: its CSR names reviews, its token proves ratings.
        agent = start("reviews", ca.tokenFile("ratings"));
        poll(() -> agent.secrets().lastError() != null, "the CA's answer");
        String error = String.valueOf(agent.secrets().lastError());
        assertTrue(error.contains("PERMISSION_DENIED"), error);
        assertTrue(error.contains("spiffe://cluster.local/ns/default/sa/reviews")
                && error.contains("spiffe://cluster.local/ns/default/sa/ratings"), error);
        assertNull(agent.secrets().current(), "no certificate is served");
    }
}

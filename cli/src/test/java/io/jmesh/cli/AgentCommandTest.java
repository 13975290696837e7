package io.jmesh.cli;

import static io.jmesh.cli.JmeshProcess.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.security.agent.SdsClient;
import io.jmesh.security.testing.TestMeshCa;

/** {@code jmesh agent} as a process: it gets a certificate from the real CA and serves it over SDS on its socket. */
class AgentCommandTest {

    @Test
    void agentServesTheWorkloadCertificateOverSdsAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        try (TestMeshCa ca = TestMeshCa.start(dir.resolve("ca"), "bookinfo", "reviews")) {
            Path socket = dir.resolve("run/sds/socket");
            Process agent = jmesh("agent", "--ca-address", ca.address(), "--ca-root", ca.rootFile().toString(),
                                  "--token-file", ca.tokenFile().toString(), "--namespace", "bookinfo",
                                  "--service-account", "reviews", "--sds-socket", socket.toString(),
                                  "--cert-ttl", "2h");
            StringBuilder seen = new StringBuilder();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(agent.getInputStream(),
                                                                              StandardCharsets.UTF_8));
                String line;
                while ((line = out.readLine()) != null && !line.contains("jmesh agent: certificate version 1")) {
                    seen.append(line).append('\n');
                }
                assertTrue(line != null, "the agent reports its certificate:\n" + seen);
                assertEquals(7200, ca.received.get(0).request().getValidityDuration(), "--cert-ttl 2h");
                try (SdsClient sds = new SdsClient(socket)) {
                    sds.ask("default", "ROOTCA");
                    DiscoveryResponse r = sds.next();
                    assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/bookinfo/sa/reviews")),
                                 SdsClient.leaf(r).getSubjectAlternativeNames().stream().map(List::copyOf).toList());
                    SdsClient.leaf(r).verify(ca.root().getPublicKey());
                    assertTrue(SdsClient.secret(r, "ROOTCA").getValidationContext().getTrustedCa().getInlineBytes()
                                       .toStringUtf8().contains("BEGIN CERTIFICATE"));
                }
                agent.destroy();
                assertTrue(agent.waitFor(20, TimeUnit.SECONDS));
                assertEquals(0, agent.exitValue(), "SIGTERM stops the agent with exit code 0");
                assertFalse(Files.exists(socket), "the socket file is removed");
            } finally {
                agent.destroyForcibly();
            }
        }
    }

    @Test
    void badFlagsAreNamed(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, Main.run("agent", "--ca-address", "127.0.0.1:1", "--cert-ttl", "forever"));
            assertEquals(2, Main.run("agent", "--ca-address", "127.0.0.1:1", "--namespace", "Bad_NS"));
            assertEquals(2, Main.run("agent", "--ca-address", "127.0.0.1:1", "--key-type", "DSA"));
            assertEquals(2, Main.run("agent"));
            assertEquals(1, Main.run("agent", "--ca-address", "127.0.0.1:1", "--sds-socket",
                                     file.resolve("socket").toString()));
        } finally {
            System.setErr(err);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("error: --cert-ttl: forever (expected: a positive duration such as 24h, 90m or 3600s)"),
                   out);
        assertTrue(out.contains("error: --namespace: Bad_NS (expected: "), out);
        assertTrue(out.contains("error: --key-type: DSA (expected: EC or RSA)"), out);
        assertTrue(out.contains("error: --ca-address: missing"), out);
        assertTrue(out.contains("error: --sds-socket: " + file.resolve("socket")
                                + " (expected: a path where a Unix socket can be bound: "), out);
    }
}

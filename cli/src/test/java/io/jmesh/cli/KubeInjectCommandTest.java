package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/** {@code jmesh kube-inject} as a user runs it: files in and out, exit codes and messages. */
class KubeInjectCommandTest {

    private static final String DEPLOYMENT = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: reviews-v1
              namespace: bookinfo
            spec:
              selector:
                matchLabels: {app: reviews, version: v1}
              template:
                metadata:
                  labels: {app: reviews, version: v1}
                  annotations:
                    traffic.sidecar.istio.io/excludeOutboundPorts: "3306"
                spec:
                  containers:
                  - name: reviews
                    image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.2
                    ports: [{containerPort: 9080}]
            """;

    @Test
    void injectsAFileIntoAnotherFile(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("reviews.yaml"), DEPLOYMENT);
        Path out = dir.resolve("reviews-injected.yaml");
        CliRun r = CliRun.jmesh("kube-inject", "-f", in.toString(), "-o", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.out());
        Deployment d = new KubernetesSerialization().unmarshal(Files.readString(out), Deployment.class);
        var spec = d.getSpec().getTemplate().getSpec();
        assertEquals("reviews,istio-proxy", String.join(",", spec.getContainers().stream().map(c -> c.getName()).toList()));
        assertEquals("istio-init", spec.getInitContainers().get(0).getName());
        assertTrue(String.join(" ", spec.getInitContainers().get(0).getArgs()).endsWith("-o 3306"),
                spec.getInitContainers().get(0).getArgs().toString());
    }

    @Test
    void printsToStdoutWithoutOutputFile(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("reviews.yaml"), DEPLOYMENT);
        CliRun r = CliRun.jmesh("kube-inject", "-f", in.toString());
        assertEquals(0, r.exit(), r.err());
        Deployment d = new KubernetesSerialization().unmarshal(r.out(), Deployment.class);
        assertEquals("istio-proxy", d.getSpec().getTemplate().getSpec().getContainers().get(1).getName());
        assertEquals("kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v1", d.getSpec().getTemplate()
                .getSpec().getContainers().get(1).getEnv().stream().filter(e -> e.getName().equals("ISTIO_META_OWNER"))
                .findFirst().orElseThrow().getValue());
    }

    @Test
    void aBadAnnotationIsAnErrorNamingFileWorkloadAndAnnotation(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("reviews.yaml"), DEPLOYMENT.replace("\"3306\"", "\"mysql\""));
        Path out = dir.resolve("out.yaml");
        CliRun r = CliRun.jmesh("kube-inject", "-f", in.toString(), "-o", out.toString());
        assertEquals(1, r.exit());
        assertEquals("Error: " + in + ": Deployment/reviews-v1: metadata.annotations[traffic.sidecar.istio.io/"
                + "excludeOutboundPorts]: mysql (expected: a comma-separated list of ports 1-65535)\n", r.err());
        assertTrue(Files.notExists(out));
    }

    @Test
    void aMissingFileIsAnError(@TempDir Path dir) {
        CliRun r = CliRun.jmesh("kube-inject", "-f", dir.resolve("nope.yaml").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("Error: --filename: " + dir.resolve("nope.yaml")), r.err());
    }

    @Test
    void waitReturnsOnceTheProxyAnswers200() throws Exception {
        // A readiness endpoint that answers 503 twice, then 200 (as the sidecar's /healthz/ready while it starts).
        java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
        com.sun.net.httpserver.HttpServer ready = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        ready.createContext("/healthz/ready", x -> {
            x.sendResponseHeaders(requests.incrementAndGet() <= 2 ? 503 : 200, -1);
            x.close();
        });
        ready.start();
        try {
            String url = "http://127.0.0.1:" + ready.getAddress().getPort() + "/healthz/ready";
            CliRun r = CliRun.jmesh("wait", "--url", url, "--timeoutSeconds", "30", "--periodMillis", "50");
            assertEquals(0, r.exit(), r.err());
            assertEquals("jmesh wait: " + url + " is ready\n", r.err());
            assertEquals(3, requests.get());
        } finally {
            ready.stop(0);
        }
    }

    @Test
    void waitGivesUpWhenNothingAnswers() {
        CliRun r = CliRun.jmesh("wait", "--url", "http://127.0.0.1:1/healthz/ready", "--timeoutSeconds", "1",
                "--periodMillis", "100");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("error: http://127.0.0.1:1/healthz/ready not ready after 1s"), r.err());
    }
}

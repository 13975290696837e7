package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jmesh discovery}'s Kubernetes options refuse bad combinations by name, before anything starts. */
class DiscoveryKubernetesOptionsTest {

    private record Run(int exit, String err) {}

    private static Run run(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int exit = new CommandLine(new DiscoveryCommand()).execute(args);
            return new Run(exit, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void aConfigDirOrAClusterIsNeeded() {
        Run r = run("--secure-grpc-addr", "off");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("error: --config-dir: missing (expected: a directory, or --kubeconfig FILE or "
                + "--kubernetes)"), r.err());
    }

    @Test
    void caSecretNeedsKubernetes(@TempDir Path dir) {
        Run r = run("--config-dir", dir.toString(), "--ca-secret", "istio-system/cacerts");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("error: --ca-secret: istio-system/cacerts (expected: NAMESPACE/NAME, with "
                + "--kubeconfig or --kubernetes, without --ca-dir, and the CA on)"), r.err());
    }

    @Test
    void anUnreadableKubeconfigIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.yaml");
        Run r = run("--kubeconfig", missing.toString(), "--secure-grpc-addr", "off", "--grpc-addr", "127.0.0.1:0",
                "--monitoring-addr", "127.0.0.1:0");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("error: kubeconfig: " + missing + " (expected: a readable kubeconfig file"),
                r.err());
    }
}

package io.jmesh.security.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.security.spiffe.SpiffeId;
import io.jmesh.security.testing.TestPki;

class CaDirectoryWatcherTest {

    @TempDir
    Path dir;

    @Test
    void goodEditsReloadBadEditsKeepSigning() throws Exception {
        CaRoots first = CaRoots.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
        CertificateAuthority ca = new CertificateAuthority(first);
        // A long interval: the test drives check() itself.
        try (CaDirectoryWatcher w = CaDirectoryWatcher.start(dir, ca, Duration.ofHours(1), Clock.systemUTC())) {
            w.check();
            assertSame(first, ca.roots(), "nothing changed");

            Files.writeString(dir.resolve("ca-key.pem"), Pem.encode(CaRoots.newEcKeyPair().getPrivate()));
            w.check();
            assertSame(first, ca.roots(), "a key that does not match is not used");
            String leaf = ca.sign(TestPki.csr(CaRoots.newEcKeyPair(), null),
                    SpiffeId.parse("spiffe://cluster.local/ns/a/sa/b"), Duration.ZERO).get(0);
            Pem.certificates(leaf).get(0).verify(first.root().getPublicKey());

            TestPki.PluggedCa plugged = TestPki.pluggedCa(dir, "O=Istio, CN=Root CA");
            w.check();
            assertEquals(plugged.caCert(), ca.roots().signingCertificate());
            assertEquals(List.of(plugged.root()), ca.roots().trustBundle());
        }
    }
}

package io.jmesh.security.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.security.spiffe.SpiffeId;
import io.jmesh.security.testing.TestPki;

class CertificateAuthorityTest {

    static final SpiffeId REVIEWS = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/reviews");

    @TempDir
    Path dir;

    @Test
    void workloadCertificateAsIstioIssuesIt() throws Exception {
        CertificateAuthority ca = new CertificateAuthority(CaRoots.loadOrCreate(dir, "cluster.local", Clock.systemUTC()));
        KeyPair kp = CaRoots.newEcKeyPair();
        List<String> chain = ca.sign(TestPki.csr(kp, REVIEWS.toString()), REVIEWS, Duration.ZERO);

        assertEquals(2, chain.size(), "leaf, then the root (self-signed CA: no intermediate)");
        X509Certificate leaf = Pem.certificates(chain.get(0)).get(0);
        X509Certificate root = Pem.certificates(chain.get(1)).get(0);
        assertEquals(kp.getPublic(), leaf.getPublicKey());
        assertEquals(List.of(List.of(6, REVIEWS.toString())), List.copyOf(leaf.getSubjectAlternativeNames()));
        assertTrue(leaf.getCriticalExtensionOIDs().contains("2.5.29.17"), "SAN critical: the subject is empty");
        assertEquals("", leaf.getSubjectX500Principal().getName());
        assertEquals("O=cluster.local", leaf.getIssuerX500Principal().getName());
        assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), leaf.getExtendedKeyUsage());
        boolean[] ku = leaf.getKeyUsage();
        assertTrue(ku[0] && ku[2], "digitalSignature and keyEncipherment");
        assertFalse(ku[5], "no keyCertSign");
        assertEquals(-1, leaf.getBasicConstraints());
        leaf.verify(root.getPublicKey());
        Duration ttl = Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
        assertEquals(Duration.ofHours(24).plusMinutes(1), ttl, "24 h default, valid from a minute ago");
        assertEquals("SHA256withECDSA", root.getSigAlgName());
        assertEquals("EC", root.getPublicKey().getAlgorithm());
    }

    @Test
    void csrWithoutSanGetsTheCallersIdentity() throws Exception {
        CertificateAuthority ca = new CertificateAuthority(CaRoots.selfSigned("example.org", Duration.ofDays(1),
                Clock.systemUTC()));
        SpiffeId caller = new SpiffeId("example.org", "shop", "cart");
        X509Certificate leaf = Pem.certificates(ca.sign(TestPki.csr(TestPki.rsa(2048), null), caller,
                Duration.ofHours(1)).get(0)).get(0);
        assertEquals(List.of(List.of(6, "spiffe://example.org/ns/shop/sa/cart")),
                List.copyOf(leaf.getSubjectAlternativeNames()));
        assertEquals(Duration.ofMinutes(61), Duration.between(leaf.getNotBefore().toInstant(),
                leaf.getNotAfter().toInstant()));
    }

    @Test
    void otherIdentityRefused() throws Exception {
        CertificateAuthority ca = new CertificateAuthority(CaRoots.selfSigned("cluster.local", Duration.ofDays(1),
                Clock.systemUTC()));
        var e = assertThrows(CertificateRequestException.class, () -> ca.sign(TestPki.csr(CaRoots.newEcKeyPair(),
                "spiffe://cluster.local/ns/istio-system/sa/istiod"), REVIEWS, Duration.ZERO));
        assertEquals(CertificateRequestException.Reason.IDENTITY_MISMATCH, e.reason());
        assertEquals("csr: requests identity spiffe://cluster.local/ns/istio-system/sa/istiod but the caller is "
                + REVIEWS, e.getMessage());
    }

    @Test
    void badCsrsRefusedNamingTheField() throws Exception {
        CertificateAuthority ca = new CertificateAuthority(CaRoots.selfSigned("cluster.local", Duration.ofDays(1),
                Clock.systemUTC()));
        var empty = assertThrows(CertificateRequestException.class, () -> ca.sign("", REVIEWS, Duration.ZERO));
        assertEquals("csr: \"\" (expected: a PEM CERTIFICATE REQUEST)", empty.getMessage());
        var garbage = assertThrows(CertificateRequestException.class,
                () -> ca.sign("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                        REVIEWS, Duration.ZERO));
        assertEquals(CertificateRequestException.Reason.INVALID_CSR, garbage.reason());
        assertTrue(garbage.getMessage().startsWith("csr: "), garbage.getMessage());
        // A CSR whose signature was made by another key than the one it carries.
        String good = TestPki.csr(CaRoots.newEcKeyPair(), REVIEWS.toString());
        String body = good.replace("-----BEGIN CERTIFICATE REQUEST-----", "")
                .replace("-----END CERTIFICATE REQUEST-----", "").replaceAll("\\s", "");
        byte[] der = java.util.Base64.getDecoder().decode(body);
        der[der.length - 5] ^= 0x01; // inside the signature
        String tampered = "-----BEGIN CERTIFICATE REQUEST-----\n" + java.util.Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END CERTIFICATE REQUEST-----\n";
        var forged = assertThrows(CertificateRequestException.class, () -> ca.sign(tampered, REVIEWS, Duration.ZERO));
        assertEquals(CertificateRequestException.Reason.INVALID_CSR, forged.reason());
        assertTrue(forged.getMessage().startsWith("csr: signature"), forged.getMessage());
        var weak = assertThrows(CertificateRequestException.class,
                () -> ca.sign(TestPki.csr(TestPki.rsa(1024), null), REVIEWS, Duration.ZERO));
        assertEquals("csr: RSA key of 1024 bits (expected: >= 2048)", weak.getMessage());
    }

    @Test
    void ttlAboveTheMaximumRefused() throws Exception {
        CertificateAuthority ca = new CertificateAuthority(CaRoots.selfSigned("cluster.local", Duration.ofDays(3650),
                Clock.systemUTC()));
        String csr = TestPki.csr(CaRoots.newEcKeyPair(), null);
        X509Certificate atMax = Pem.certificates(ca.sign(csr, REVIEWS, Duration.ofDays(90)).get(0)).get(0);
        assertEquals(Duration.ofDays(90).plusMinutes(1), Duration.between(atMax.getNotBefore().toInstant(),
                atMax.getNotAfter().toInstant()));
        var e = assertThrows(CertificateRequestException.class,
                () -> ca.sign(csr, REVIEWS, Duration.ofDays(90).plusSeconds(1)));
        assertEquals(CertificateRequestException.Reason.TTL, e.reason());
        assertEquals("validity_duration: 7776001s (expected: <= 7776000s, the max allowed TTL)", e.getMessage());
    }

    @Test
    void rootPersistedAndReusedAcrossRestart() throws Exception {
        CaRoots first = CaRoots.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
        assertTrue(first.selfSignedRoot());
        for (String f : List.of("ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem")) {
            assertTrue(Files.exists(dir.resolve(f)), f);
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca-key.pem"))));
        CaRoots second = CaRoots.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
        assertEquals(first.root(), second.root());
        assertArrayEquals(first.signingKey().getEncoded(), second.signingKey().getEncoded());
        // A certificate issued after the restart verifies against the root of before.
        String leaf = new CertificateAuthority(second).sign(TestPki.csr(CaRoots.newEcKeyPair(), null), REVIEWS,
                Duration.ZERO).get(0);
        Pem.certificates(leaf).get(0).verify(first.root().getPublicKey());
    }

    @Test
    void pluggedInIntermediateChainLeafFirstRootLast() throws Exception {
        TestPki.PluggedCa plugged = TestPki.pluggedCa(dir, "O=Istio, CN=Root CA");
        CaRoots roots = CaRoots.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
        assertFalse(roots.selfSignedRoot());
        assertEquals(plugged.root(), roots.root());
        List<String> chain = new CertificateAuthority(roots).sign(TestPki.csr(CaRoots.newEcKeyPair(), null), REVIEWS,
                Duration.ZERO);
        assertEquals(3, chain.size());
        X509Certificate leaf = Pem.certificates(chain.get(0)).get(0);
        X509Certificate intermediate = Pem.certificates(chain.get(1)).get(0);
        X509Certificate root = Pem.certificates(chain.get(2)).get(0);
        assertEquals(plugged.caCert(), intermediate);
        assertEquals(plugged.root(), root);
        leaf.verify(intermediate.getPublicKey());
        intermediate.verify(root.getPublicKey());
        assertEquals(intermediate.getSubjectX500Principal(), leaf.getIssuerX500Principal());
    }

    @Test
    void pluggedInMaterialCheckedNamingTheFile() throws Exception {
        TestPki.pluggedCa(dir, "O=Istio, CN=Root CA");
        Files.writeString(dir.resolve("ca-key.pem"), Pem.encode(CaRoots.newEcKeyPair().getPrivate()));
        var e = assertThrows(CaConfigException.class, () -> CaRoots.load(dir, Clock.systemUTC()));
        assertEquals(dir.resolve("ca-key.pem") + ": does not match the public key of ca-cert.pem", e.getMessage());

        Path other = dir.resolve("other");
        TestPki.pluggedCa(other, "O=Istio, CN=Root CA");
        Files.writeString(other.resolve("root-cert.pem"), Pem.encode(CaRoots.selfSigned("x", Duration.ofDays(1),
                Clock.systemUTC()).root()));
        Files.writeString(other.resolve("cert-chain.pem"), "");
        var noRoot = assertThrows(CaConfigException.class, () -> CaRoots.load(other, Clock.systemUTC()));
        assertTrue(noRoot.getMessage().startsWith(other.resolve("cert-chain.pem") + ": no issuer of "),
                noRoot.getMessage());

        Path keyOnly = dir.resolve("key-only");
        Files.createDirectories(keyOnly);
        Files.writeString(keyOnly.resolve("ca-key.pem"), Pem.encode(CaRoots.newEcKeyPair().getPrivate()));
        var missing = assertThrows(CaConfigException.class, () -> CaRoots.loadOrCreate(keyOnly, "cluster.local",
                Clock.systemUTC()));
        assertEquals(keyOnly.resolve("ca-cert.pem") + ": missing", missing.getMessage());
    }

    @Test
    void rootTransitionBundleServedWithEveryCertificate() throws Exception {
        // Step 1 of Istio's root transition: the old self-signed root still signs; root-cert.pem gains the new root.
        CaRoots old = CaRoots.loadOrCreate(dir, "cluster.local", Clock.systemUTC());
        Path next = dir.resolve("new");
        TestPki.PluggedCa plugged = TestPki.pluggedCa(next, "O=Istio, CN=New Root CA");
        Files.writeString(dir.resolve("root-cert.pem"), Pem.encode(List.of(old.root(), plugged.root())));
        CaRoots during = CaRoots.load(dir, Clock.systemUTC());
        assertEquals(List.of(old.root(), plugged.root()), during.trustBundle());
        List<String> chain = new CertificateAuthority(during).sign(TestPki.csr(CaRoots.newEcKeyPair(), null), REVIEWS,
                Duration.ZERO);
        assertEquals(List.of(old.root(), plugged.root()), Pem.certificates(chain.get(chain.size() - 1)));

        // Step 2: switch signing to the new intermediate; the old root stays trusted until every workload renewed.
        Files.writeString(next.resolve("root-cert.pem"), Pem.encode(List.of(plugged.root(), old.root())));
        CaRoots after = CaRoots.load(next, Clock.systemUTC());
        List<String> renewed = new CertificateAuthority(after).sign(TestPki.csr(CaRoots.newEcKeyPair(), null), REVIEWS,
                Duration.ZERO);
        assertEquals(plugged.root(), after.root());
        assertEquals(List.of(plugged.root(), old.root()), Pem.certificates(renewed.get(renewed.size() - 1)));
        assertEquals(plugged.caCert(), Pem.certificates(renewed.get(1)).get(0));
    }
}

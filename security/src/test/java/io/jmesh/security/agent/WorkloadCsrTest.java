package io.jmesh.security.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.security.KeyPair;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The CSR the agent sends and Istio's rotation time. */
class WorkloadCsrTest {

    @ParameterizedTest
    @EnumSource(KeyType.class)
    void theCsrIsSignedByTheKeyAndNamesOnlyTheSpiffeId(KeyType type) throws Exception {
        KeyPair keys = WorkloadCsr.generateKeyPair(type);
        if (type == KeyType.RSA_2048) {
            assertEquals(2048, ((RSAPublicKey) keys.getPublic()).getModulus().bitLength());
        } else {
            assertEquals(256, ((ECPublicKey) keys.getPublic()).getParams().getCurve().getField().getFieldSize());
        }
        String pem = WorkloadCsr.csrPem(keys, "spiffe://cluster.local/ns/default/sa/reviews");
        PKCS10CertificationRequest csr;
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            csr = (PKCS10CertificationRequest) p.readObject();
        }
        assertTrue(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(keys.getPublic())));
        assertEquals(0, csr.getSubject().getRDNs().length, "empty subject, as Istio's agent");
        Extensions ext = Extensions.getInstance(csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0]
                                                        .getAttrValues().getObjectAt(0));
        assertTrue(ext.getExtension(Extension.subjectAlternativeName).isCritical());
        GeneralName[] sans = GeneralNames.fromExtensions(ext, Extension.subjectAlternativeName).getNames();
        assertEquals(1, sans.length);
        assertEquals(GeneralName.uniformResourceIdentifier, sans[0].getTagNo());
        assertEquals("spiffe://cluster.local/ns/default/sa/reviews", sans[0].getName().toString());
        assertTrue(WorkloadCsr.privateKeyPem(keys.getPrivate()).startsWith("-----BEGIN PRIVATE KEY-----"));
    }

    @Test
    void rotationIsAtTheGraceRatioOfTheLifetimeGiveOrTakeTheJitter() {
        Instant created = Instant.parse("2026-01-01T00:00:00Z");
        Instant expires = created.plus(Duration.ofHours(24));
        // ratio 0.5 + 0.5 * 0.5 = 0.75 of the lifetime left: rotate after 6 h; 0.25 left: after 18 h
        assertEquals(Duration.ofHours(6), SecretCache.rotateDelay(created, expires, created, 0.5, 0.5, 0.5, true));
        assertEquals(Duration.ofHours(18), SecretCache.rotateDelay(created, expires, created, 0.5, 0.5, 0.5, false));
        assertEquals(Duration.ZERO, SecretCache.rotateDelay(created, expires, created, 0.9, 0.5, 0.5, true),
                     "the ratio is clamped to 1");
        assertEquals(Duration.ofHours(12), SecretCache.rotateDelay(created, expires, created, 0.5, 0, 0.7, true));
        assertEquals(Duration.ofHours(2), SecretCache.rotateDelay(created, expires, created.plus(Duration.ofHours(10)),
                                                                  0.5, 0, 0, true), "measured from now");
        assertEquals(Duration.ZERO, SecretCache.rotateDelay(created, expires, created.plus(Duration.ofHours(13)),
                                                            0.5, 0, 0, true), "overdue: at once");
    }

    @Test
    void badOptionsNameTheField() {
        assertEquals("namespace: Default (expected: [a-z0-9]([-a-z0-9]*[a-z0-9])?)",
                     assertThrows(IllegalArgumentException.class,
                                  () -> AgentOptions.builder().namespace("Default")).getMessage());
        assertEquals("certTtl: PT0S (expected: > 0)", assertThrows(IllegalArgumentException.class,
                () -> AgentOptions.builder().certTtl(Duration.ZERO)).getMessage());
        assertEquals("spiffe://example.org/ns/bookinfo/sa/reviews", AgentOptions.builder().trustDomain("example.org")
                .namespace("bookinfo").serviceAccount("reviews").build().spiffeId());
    }
}

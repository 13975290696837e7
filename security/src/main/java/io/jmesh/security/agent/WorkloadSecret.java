package io.jmesh.security.agent;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * One issued workload identity: the PEM chain from the CA (leaf first), the private key that never left this
 * process (PEM PKCS#8), the root that becomes {@code ROOTCA} (the chain's last element), when it arrived and when
 * the leaf expires. {@link #version()} grows by one with every new certificate. Immutable; {@link #toString()}
 * leaves the key out.
 */
public record WorkloadSecret(List<String> certChain, String privateKeyPem, String rootCertPem, X509Certificate leaf,
                             Instant createdAt, Instant expiresAt, long version) {

    public WorkloadSecret {
        certChain = List.copyOf(certChain);
    }

    /** The chain as one PEM text, leaf first, each element ending with a newline (Istio's {@code concatCerts}). */
    public String certChainPem() {
        StringBuilder sb = new StringBuilder();
        for (String c : certChain) {
            sb.append(c);
            if (!c.endsWith("\n")) {
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /** Parses the first certificate of a PEM text. */
    static X509Certificate parseLeaf(String pem) throws GeneralSecurityException {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    }

    @Override
    public String toString() {
        return "WorkloadSecret{version=" + version + ", subjectAltNames=" + sans() + ", serial="
               + leaf.getSerialNumber().toString(16) + ", expiresAt=" + expiresAt + "}";
    }

    private String sans() {
        try {
            return String.valueOf(leaf.getSubjectAlternativeNames());
        } catch (GeneralSecurityException e) {
            return "?";
        }
    }
}

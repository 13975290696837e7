package io.jmesh.discovery;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

import io.jmesh.security.ca.CertificateAuthority;

/**
 * How discovery runs its CA and its TLS port (istiod's 15012). Immutable.
 *
 * @param secureGrpcAddress where the TLS gRPC server (xDS and the CA) listens; port 0 picks a free port
 * @param caDir             the CA's directory (Istio's {@code cacerts} layout); a self-signed root is generated and
 *                          written there on first start; {@code null} keeps a generated root in memory only
 * @param tokensFile        the bearer-token file ({@code tokens: [{token, namespace, serviceAccount}]}), or
 *                          {@code null}: callers then authenticate by client certificate only
 * @param caOnPlaintext     also serve the CA on the plaintext gRPC address (tokens travel in clear text)
 * @param defaultCertTtl    workload certificate TTL when a request asks for none (Istio's 24 h)
 * @param maxCertTtl        the largest TTL a request may ask for (Istio's 90 days)
 */
public record CaOptions(InetSocketAddress secureGrpcAddress, Path caDir, Path tokensFile, boolean caOnPlaintext,
                        Duration defaultCertTtl, Duration maxCertTtl) {

    public CaOptions {
        Objects.requireNonNull(secureGrpcAddress, "secureGrpcAddress");
        defaultCertTtl = defaultCertTtl == null ? CertificateAuthority.DEFAULT_CERT_TTL : defaultCertTtl;
        maxCertTtl = maxCertTtl == null ? CertificateAuthority.MAX_CERT_TTL : maxCertTtl;
        if (defaultCertTtl.isNegative() || defaultCertTtl.isZero()) {
            throw new IllegalArgumentException("defaultCertTtl: " + defaultCertTtl + " (expected: > 0)");
        }
        if (maxCertTtl.compareTo(defaultCertTtl) < 0) {
            throw new IllegalArgumentException("maxCertTtl: " + maxCertTtl + " (expected: >= defaultCertTtl "
                    + defaultCertTtl + ")");
        }
    }

    /** Istio's TTLs, the CA on the TLS port only. */
    public static CaOptions of(InetSocketAddress secureGrpcAddress, Path caDir, Path tokensFile) {
        return new CaOptions(secureGrpcAddress, caDir, tokensFile, false, null, null);
    }
}

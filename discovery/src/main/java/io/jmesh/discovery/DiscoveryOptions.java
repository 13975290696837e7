package io.jmesh.discovery;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How to start {@link DiscoveryServer}. Immutable.
 *
 * @param configDir         directory of Istio YAML files, read recursively and watched
 * @param grpcAddress       where ADS listens (plaintext); port 0 picks a free port
 * @param monitoringAddress where {@code /metrics} and {@code /debug/*} listen; port 0 picks a free port
 * @param meshConfigFile    a MeshConfig YAML file, or {@code null} for Istio's defaults
 * @param debounce          quiet time before a change is pushed (istiod's 100 ms by default)
 * @param ca                the CA and the TLS port (15012), or {@code null} for neither
 * @param credentialsDir    TLS credentials for {@code credentialName} ({@code <dir>/<namespace>/<name>/tls.crt,
 *                          tls.key, ca.crt}), re-read every second; {@code null} for none
 */
public record DiscoveryOptions(Path configDir, InetSocketAddress grpcAddress, InetSocketAddress monitoringAddress,
                               Path meshConfigFile, Duration debounce, CaOptions ca, Path credentialsDir) {

    /** istiod's default debounce. */
    public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(100);

    public DiscoveryOptions {
        Objects.requireNonNull(configDir, "configDir");
        Objects.requireNonNull(grpcAddress, "grpcAddress");
        Objects.requireNonNull(monitoringAddress, "monitoringAddress");
        debounce = debounce == null ? DEFAULT_DEBOUNCE : debounce;
        if (debounce.isNegative()) {
            throw new IllegalArgumentException("debounce: " + debounce + " (expected: >= 0)");
        }
    }

    /** Options without the CA and the TLS port, and without a credentials directory. */
    public DiscoveryOptions(Path configDir, InetSocketAddress grpcAddress, InetSocketAddress monitoringAddress,
                            Path meshConfigFile, Duration debounce) {
        this(configDir, grpcAddress, monitoringAddress, meshConfigFile, debounce, null, null);
    }

    /** These options with the CA and TLS port of {@code ca}. */
    public DiscoveryOptions withCa(CaOptions ca) {
        return new DiscoveryOptions(configDir, grpcAddress, monitoringAddress, meshConfigFile, debounce, ca,
                credentialsDir);
    }

    /** These options with the credentials directory {@code dir} ({@code credentialName}). */
    public DiscoveryOptions withCredentialsDir(Path dir) {
        return new DiscoveryOptions(configDir, grpcAddress, monitoringAddress, meshConfigFile, debounce, ca, dir);
    }

    /** Options with Istio's ports on 127.0.0.1 (15010 for xDS, 15014 for monitoring) and no mesh config. */
    public static DiscoveryOptions of(Path configDir) {
        return new DiscoveryOptions(configDir, new InetSocketAddress("127.0.0.1", 15010),
                new InetSocketAddress("127.0.0.1", 15014), null, DEFAULT_DEBOUNCE);
    }
}

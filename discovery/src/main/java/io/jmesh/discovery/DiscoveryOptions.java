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
 * @param credentialsDir    TLS credentials for {@code credentialName} ({@code <dir>/<namespace>/<name>/tls.crt,
 *                          tls.key, ca.crt}), re-read every second; {@code null} for none
 */
public record DiscoveryOptions(Path configDir, InetSocketAddress grpcAddress, InetSocketAddress monitoringAddress,
                               Path meshConfigFile, Duration debounce, Path credentialsDir) {

    /** Options without a credentials directory. */
    public DiscoveryOptions(Path configDir, InetSocketAddress grpcAddress, InetSocketAddress monitoringAddress,
                            Path meshConfigFile, Duration debounce) {
        this(configDir, grpcAddress, monitoringAddress, meshConfigFile, debounce, null);
    }

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

    /** Options with Istio's ports on 127.0.0.1 (15010 for xDS, 15014 for monitoring) and no mesh config. */
    public static DiscoveryOptions of(Path configDir) {
        return new DiscoveryOptions(configDir, new InetSocketAddress("127.0.0.1", 15010),
                new InetSocketAddress("127.0.0.1", 15014), null, DEFAULT_DEBOUNCE);
    }
}

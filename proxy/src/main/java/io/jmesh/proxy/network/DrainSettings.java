package io.jmesh.proxy.network;

import java.time.Duration;
import java.util.Locale;

/**
 * How the connections of a listener updated or removed by LDS leave it: Envoy's {@code --drain-time-s} and
 * {@code --drain-strategy}. During the drain time each connection is asked to finish ({@link DrainEvent}: HTTP/1.1
 * {@code connection: close}, HTTP/2 GOAWAY, RPC closed once no call is open); a connection still open when the drain
 * time is over is closed, whatever it is doing, so that no connection keeps an old filter chain (and its old policy)
 * for longer than the drain time.
 *
 * @param drainMillis the drain time in milliseconds, {@code >= 0}
 * @param strategy    when each connection is asked to finish
 * @see <a href="https://www.envoyproxy.io/docs/envoy/latest/operations/cli#cmdoption-drain-time-s">Envoy's
 *      --drain-time-s and --drain-strategy</a>
 */
public record DrainSettings(long drainMillis, Strategy strategy) {

    /** Envoy's {@code --drain-strategy}. */
    public enum Strategy {
        /**
         * Envoy's default: the share of connections asked to finish grows from none to all over the drain time
         * (here each connection is asked at a uniformly random moment of it).
         */
        GRADUAL,
        /** Every connection is asked to finish at once (what Istio's pilot-agent passes to Envoy). */
        IMMEDIATE;

        /**
         * Parses a flag value, {@code gradual} or {@code immediate} (any case).
         *
         * @throws IllegalArgumentException naming {@code --drain-strategy} for anything else
         */
        public static Strategy parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "gradual" -> GRADUAL;
                case "immediate" -> IMMEDIATE;
                default -> throw new IllegalArgumentException(
                        "--drain-strategy: " + value + " (expected: gradual or immediate)");
            };
        }
    }

    /** Istio's sidecar settings ({@code drainDuration} 45 s, {@code --drain-strategy immediate}). */
    public static final DrainSettings ISTIO_DEFAULT = new DrainSettings(45_000, Strategy.IMMEDIATE);

    public DrainSettings {
        if (drainMillis < 0) {
            throw new IllegalArgumentException("--drain-time-s: " + drainMillis / 1000.0 + " (expected: >= 0)");
        }
        if (strategy == null) {
            throw new IllegalArgumentException("--drain-strategy: null (expected: gradual or immediate)");
        }
    }

    /** Settings with {@code drainTime} and {@code strategy}. */
    public static DrainSettings of(Duration drainTime, Strategy strategy) {
        return new DrainSettings(drainTime.toMillis(), strategy);
    }
}

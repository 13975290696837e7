package io.jmesh.security.agent;

import java.time.Duration;
import java.util.Objects;

/**
 * What the node agent asks the CA for and when it rotates: an immutable snapshot, built with {@link #builder()}.
 * Defaults are Istio's: trust domain {@code cluster.local}, namespace {@code default}, service account
 * {@code default}, EC P-256 keys, a 24 h certificate ({@code SECRET_TTL}), rotation when {@code 0.5} of the
 * lifetime is left ({@code SECRET_GRACE_PERIOD_RATIO}) give or take {@code 0.01}
 * ({@code SECRET_GRACE_PERIOD_RATIO_JITTER}); a failed CA call is retried after 1 s, doubling up to 60 s.
 */
public final class AgentOptions {

    private final String trustDomain;
    private final String namespace;
    private final String serviceAccount;
    private final KeyType keyType;
    private final Duration certTtl;
    private final double graceRatio;
    private final double graceRatioJitter;
    private final Duration initialBackoff;
    private final Duration maxBackoff;

    private AgentOptions(Builder b) {
        this.trustDomain = b.trustDomain;
        this.namespace = b.namespace;
        this.serviceAccount = b.serviceAccount;
        this.keyType = b.keyType;
        this.certTtl = b.certTtl;
        this.graceRatio = b.graceRatio;
        this.graceRatioJitter = b.graceRatioJitter;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}. */
    public String spiffeId() {
        return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }

    public String trustDomain() {
        return trustDomain;
    }

    public String namespace() {
        return namespace;
    }

    public String serviceAccount() {
        return serviceAccount;
    }

    public KeyType keyType() {
        return keyType;
    }

    /** The validity asked of the CA ({@code validity_duration}); the CA may shorten it. */
    public Duration certTtl() {
        return certTtl;
    }

    public double graceRatio() {
        return graceRatio;
    }

    public double graceRatioJitter() {
        return graceRatioJitter;
    }

    public Duration initialBackoff() {
        return initialBackoff;
    }

    public Duration maxBackoff() {
        return maxBackoff;
    }

    /** Builds {@link AgentOptions}; setters check their argument and name it in the error. */
    public static final class Builder {
        private String trustDomain = "cluster.local";
        private String namespace = "default";
        private String serviceAccount = "default";
        private KeyType keyType = KeyType.EC_P256;
        private Duration certTtl = Duration.ofHours(24);
        private double graceRatio = 0.5;
        private double graceRatioJitter = 0.01;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofSeconds(60);

        private Builder() {}

        public Builder trustDomain(String v) {
            this.trustDomain = segment("trustDomain", v, "[A-Za-z0-9._-]+");
            return this;
        }

        public Builder namespace(String v) {
            this.namespace = segment("namespace", v, "[a-z0-9]([-a-z0-9]*[a-z0-9])?");
            return this;
        }

        public Builder serviceAccount(String v) {
            this.serviceAccount = segment("serviceAccount", v, "[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
            return this;
        }

        public Builder keyType(KeyType v) {
            this.keyType = Objects.requireNonNull(v, "keyType");
            return this;
        }

        public Builder certTtl(Duration v) {
            if (v == null || v.isNegative() || v.isZero()) {
                throw new IllegalArgumentException("certTtl: " + v + " (expected: > 0)");
            }
            this.certTtl = v;
            return this;
        }

        public Builder graceRatio(double v) {
            if (!(v > 0 && v < 1)) {
                throw new IllegalArgumentException("graceRatio: " + v + " (expected: > 0 and < 1)");
            }
            this.graceRatio = v;
            return this;
        }

        public Builder graceRatioJitter(double v) {
            if (!(v >= 0 && v < 1)) {
                throw new IllegalArgumentException("graceRatioJitter: " + v + " (expected: >= 0 and < 1)");
            }
            this.graceRatioJitter = v;
            return this;
        }

        public Builder backoff(Duration initial, Duration max) {
            if (initial == null || initial.isNegative() || initial.isZero()) {
                throw new IllegalArgumentException("initialBackoff: " + initial + " (expected: > 0)");
            }
            if (max == null || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("maxBackoff: " + max + " (expected: >= initialBackoff " + initial + ")");
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        public AgentOptions build() {
            return new AgentOptions(this);
        }

        private static String segment(String field, String v, String pattern) {
            if (v == null || !v.matches(pattern)) {
                throw new IllegalArgumentException(field + ": " + v + " (expected: " + pattern + ")");
            }
            return v;
        }
    }
}

package io.jmesh.security.spiffe;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An Istio workload identity: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}, the only
 * URI SAN of a workload certificate (see the <a href="https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md">
 * SPIFFE ID</a> standard and Istio's {@code pkg/spiffe}). Immutable.
 *
 * <p>Validation follows the SPIFFE standard: the trust domain is lowercase letters, digits, {@code .}, {@code -}
 * and {@code _}; a path segment is letters, digits, {@code .}, {@code -} and {@code _}, neither {@code .} nor
 * {@code ..}.
 *
 * @param trustDomain    e.g. {@code cluster.local}
 * @param namespace      the Kubernetes namespace
 * @param serviceAccount the Kubernetes service account
 */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {

    /** The URI scheme with its separator. */
    public static final String PREFIX = "spiffe://";

    /** Istio's default trust domain. */
    public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";

    private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

    /**
     * Validates the parts.
     *
     * @throws IllegalArgumentException naming the part that is invalid
     */
    public SpiffeId {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
        if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
            throw new IllegalArgumentException("trust domain: " + trustDomain
                    + " (expected: lowercase letters, digits, '.', '-', '_')");
        }
        checkSegment("namespace", namespace);
        checkSegment("service account", serviceAccount);
    }

    private static void checkSegment(String what, String value) {
        if (!SEGMENT.matcher(value).matches() || value.equals(".") || value.equals("..")) {
            throw new IllegalArgumentException(what + ": " + (value.isEmpty() ? "\"\"" : value)
                    + " (expected: letters, digits, '.', '-', '_')");
        }
    }

    /**
     * Parses {@code spiffe://<td>/ns/<ns>/sa/<sa>}.
     *
     * @throws IllegalArgumentException with the input and the expected form when it is not such a URI
     */
    public static SpiffeId parse(String uri) {
        Objects.requireNonNull(uri, "uri");
        String expected = " (expected: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)";
        if (!uri.startsWith(PREFIX)) {
            throw new IllegalArgumentException("SPIFFE ID: " + uri + expected);
        }
        String[] parts = uri.substring(PREFIX.length()).split("/", -1);
        if (parts.length != 5 || !parts[1].equals("ns") || !parts[3].equals("sa")) {
            throw new IllegalArgumentException("SPIFFE ID: " + uri + expected);
        }
        try {
            return new SpiffeId(parts[0], parts[2], parts[4]);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("SPIFFE ID: " + uri + ": " + e.getMessage());
        }
    }

    /** Whether {@code uri} parses as an Istio SPIFFE ID. */
    public static boolean isValid(String uri) {
        try {
            parse(uri);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Returns {@code spiffe://<td>/ns/<ns>/sa/<sa>}. */
    @Override
    public String toString() {
        return PREFIX + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }
}

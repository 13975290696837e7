package io.jmesh.proxy.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpRequest;

/**
 * One of a route's {@code request_mirror_policies} (Envoy's {@code RouteAction.RequestMirrorPolicy}; Istio's
 * VirtualService {@code mirror} and {@code mirrorPercentage}): which cluster gets a fire-and-forget copy
 * ("shadow") of the request, for which fraction of requests, and how its Host is marked. Immutable and
 * thread-safe.
 *
 * <p>Supported: {@code cluster} or {@code cluster_header}, {@code runtime_fraction} (its {@code default_value};
 * the runtime key is ignored, jmesh has no runtime layer) and {@code disable_shadow_host_suffix_append}.
 * {@code trace_sampled} is rejected.
 *
 * @see <a href="https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#envoy-v3-api-msg-config-route-v3-routeaction-requestmirrorpolicy">RequestMirrorPolicy</a>
 */
public final class RequestMirrorPolicy {

    private static final String SHADOW_SUFFIX = "-shadow";

    private final String cluster;
    private final String clusterHeader;
    private final int numerator;
    private final int denominator;
    private final boolean appendHostSuffix;

    private RequestMirrorPolicy(String cluster, String clusterHeader, int numerator, int denominator,
                                boolean appendHostSuffix) {
        this.cluster = cluster;
        this.clusterHeader = clusterHeader;
        this.numerator = numerator;
        this.denominator = denominator;
        this.appendHostSuffix = appendHostSuffix;
    }

    /** Compiles {@code policies}; {@code path} names the repeated field in errors. Empty in, {@code List.of()} out. */
    static List<RequestMirrorPolicy> from(List<RouteAction.RequestMirrorPolicy> policies, String path)
            throws ConfigException {
        if (policies.isEmpty()) {
            return List.of();
        }
        final List<RequestMirrorPolicy> out = new ArrayList<>(policies.size());
        for (int i = 0; i < policies.size(); i++) {
            out.add(from(policies.get(i), path + '[' + i + ']'));
        }
        return List.copyOf(out);
    }

    private static RequestMirrorPolicy from(RouteAction.RequestMirrorPolicy p, String path) throws ConfigException {
        if (p.hasTraceSampled()) {
            throw new ConfigException(path + ".trace_sampled: " + p.getTraceSampled().getValue()
                                      + " (expected: unset; jmesh does not sample shadows apart)");
        }
        final boolean hasCluster = !p.getCluster().isEmpty();
        final boolean hasHeader = !p.getClusterHeader().isEmpty();
        if (hasCluster == hasHeader) {
            throw new ConfigException(path + ".cluster: " + (hasCluster ? p.getCluster() : "\"\"")
                                      + " (expected: exactly one of cluster and cluster_header)");
        }
        String header = null;
        if (hasHeader) {
            header = p.getClusterHeader().toLowerCase(Locale.ROOT);
            if ("host".equals(header)) {
                header = ":authority";
            }
        }
        int numerator = 100;
        int denominator = 100;
        if (p.hasRuntimeFraction()) {
            final RuntimeFractionalPercent rf = p.getRuntimeFraction();
            final FractionalPercent f = rf.getDefaultValue();
            final String fp = path + ".runtime_fraction.default_value";
            switch (f.getDenominator()) {
                case HUNDRED:
                    denominator = 100;
                    break;
                case TEN_THOUSAND:
                    denominator = 10_000;
                    break;
                case MILLION:
                    denominator = 1_000_000;
                    break;
                default:
                    throw new ConfigException(fp + ".denominator: " + f.getDenominatorValue()
                                              + " (expected: HUNDRED, TEN_THOUSAND or MILLION)");
            }
            // Envoy caps a numerator above the denominator at 100%.
            numerator = (int) Math.min(Integer.toUnsignedLong(f.getNumerator()), denominator);
        }
        return new RequestMirrorPolicy(hasCluster ? p.getCluster() : null, header, numerator, denominator,
                                       !p.getDisableShadowHostSuffixAppend());
    }

    /**
     * The cluster to mirror {@code request} to: {@code cluster}, or the value of {@code cluster_header}
     * (null when the request has no such header: then nothing is mirrored, as in Envoy).
     */
    public String cluster(HttpRequest request) {
        if (cluster != null) {
            return cluster;
        }
        final String v = RequestView.header(request, clusterHeader, null);
        return v == null || v.isEmpty() ? null : v;
    }

    /** Rolls {@code runtime_fraction}: whether this request is mirrored. Thread-safe. */
    public boolean sampled() {
        return numerator >= denominator
               || numerator > 0 && ThreadLocalRandom.current().nextInt(denominator) < numerator;
    }

    /**
     * The Host of the mirrored request: {@code host} with {@code -shadow} appended before its port, if any
     * ({@code reviews:9080} to {@code reviews-shadow:9080}, {@code [::1]:80} to {@code [::1]-shadow:80}),
     * as Envoy's {@code ShadowWriterImpl::shadowAppendedHost}; unchanged when {@code
     * disable_shadow_host_suffix_append} is set or {@code host} is null or empty.
     */
    public String shadowHost(String host) {
        if (!appendHostSuffix || host == null || host.isEmpty()) {
            return host;
        }
        final int portStart = portStart(host);
        return portStart < 0 ? host + SHADOW_SUFFIX
                             : host.substring(0, portStart) + SHADOW_SUFFIX + host.substring(portStart);
    }

    /** Index of the {@code :} that starts the port, or -1 (Envoy's {@code HeaderUtility::getPortStart}). */
    private static int portStart(String host) {
        final int colon = host.lastIndexOf(':');
        return colon >= 0 && host.lastIndexOf(']') > colon ? -1 : colon; // "[::1]": no port
    }

    @Override
    public String toString() {
        return "RequestMirrorPolicy{" + (cluster != null ? cluster : "header " + clusterHeader) + ", "
               + numerator + '/' + denominator + (appendHostSuffix ? "" : ", no -shadow") + '}';
    }
}

package io.jmesh.proxy.filter.ratelimit;

import java.util.ArrayList;
import java.util.List;

import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.RequestAttributes;

/**
 * Makes a request's rate limit descriptors from its route's {@code rate_limits}, as Envoy's rate limit filters do:
 * the route's policies of the filter's {@code stage}, then the virtual host's when the route has none
 * ({@code vh_rate_limits: OVERRIDE}, the default), when the route sets {@code include_vh_rate_limits}
 * ({@code INCLUDE}), or never ({@code IGNORE}).
 */
public final class Descriptors {

    /** How the virtual host's {@code rate_limits} combine with the route's (Envoy's {@code VhRateLimitsOptions}). */
    public enum VhRateLimits { OVERRIDE, INCLUDE, IGNORE }

    private static volatile String localServiceCluster = "";

    private Descriptors() {}

    /** Sets this proxy's {@code node.cluster} (the {@code source_cluster} action's value); the server calls it once. */
    public static void localServiceCluster(String cluster) {
        localServiceCluster = cluster == null ? "" : cluster;
    }

    /** This proxy's {@code node.cluster}, or {@code ""}. */
    public static String localServiceCluster() {
        return localServiceCluster;
    }

    /** The descriptors of {@code request} on {@code route} (null route: none), in policy order. */
    public static List<List<RateLimitPolicy.Entry>> of(RouteEntry route, int stage, VhRateLimits vh,
                                                       RequestAttributes request, String destinationCluster) {
        if (route == null) {
            return List.of();
        }
        List<RateLimitPolicy> own = route.rateLimits();
        List<RateLimitPolicy> vhs = route.virtualHostRateLimits();
        if (own.isEmpty() && vhs.isEmpty()) {
            return List.of();
        }
        RateLimitPolicy.Context ctx = new RateLimitPolicy.Context() {
            @Override
            public String localServiceCluster() {
                return localServiceCluster;
            }

            @Override
            public String destinationCluster() {
                return destinationCluster;
            }
        };
        List<List<RateLimitPolicy.Entry>> out = new ArrayList<>(2);
        add(own, stage, request, ctx, out);
        VhRateLimits mode = route.includeVirtualHostRateLimits() ? VhRateLimits.INCLUDE : vh;
        if (mode == VhRateLimits.INCLUDE || (mode == VhRateLimits.OVERRIDE && own.isEmpty())) {
            add(vhs, stage, request, ctx, out);
        }
        return out;
    }

    /** The descriptors that {@code policies} of {@code stage} make for {@code request}. */
    public static void add(List<RateLimitPolicy> policies, int stage, RequestAttributes request,
                           RateLimitPolicy.Context ctx, List<List<RateLimitPolicy.Entry>> out) {
        for (RateLimitPolicy p : policies) {
            if (p.stage() != stage) {
                continue;
            }
            List<RateLimitPolicy.Entry> d = p.descriptor(request, ctx);
            if (d != null) {
                out.add(d);
            }
        }
    }
}

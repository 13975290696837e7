package io.jmesh.proxy.router;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.OptionalLong;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The route a request matched in a {@link RouteTable}: what to do with it (forward to a cluster,
 * redirect, or answer directly) and how. Immutable and thread-safe; the methods that take a request
 * read or mutate only that request and may be called on any event loop.
 *
 * <p>Methods of one {@link Kind} throw {@link IllegalStateException} on entries of another kind,
 * except {@link #transformResponse(HttpResponse)}, which applies to every kind (Envoy adds the
 * response headers to redirects and direct responses too), and the getters of {@link Kind#ROUTE}
 * that return defaults.
 */
public interface RouteEntry {

    /** The action of the route: Envoy's {@code Route.action} oneof. */
    enum Kind { ROUTE, REDIRECT, DIRECT_RESPONSE }

    Kind kind();

    /** {@code Route.name}; may be {@code ""}. */
    String name();

    /** {@code Route.decorator.operation}: the name of the spans of requests on this route; null when unset. */
    default String decoratorOperation() {
        return null;
    }

    /** {@code Route.tracing}: the route's sampling fractions and custom tags; null when unset. */
    default io.jmesh.proxy.telemetry.tracing.RouteTracing tracing() {
        return null;
    }

    /** {@code VirtualHost.name} of the virtual host the route belongs to. */
    String virtualHostName();

    /**
     * The parsed {@code typed_per_filter_config} for filter {@code filterName} (Envoy's canonical name, or
     * the name the config was keyed by), the most specific of route, virtual host and route configuration;
     * null when none. Applies to every kind.
     */
    default Object perFilterConfig(String filterName) {
        return null;
    }

    /**
     * The route action's {@code rate_limits}, compiled; empty when none (and for redirects and direct responses).
     */
    default List<RateLimitPolicy> rateLimits() {
        return List.of();
    }

    /** The virtual host's {@code rate_limits}, compiled; empty when none. */
    default List<RateLimitPolicy> virtualHostRateLimits() {
        return List.of();
    }

    /** {@code RouteAction.include_vh_rate_limits}: the virtual host's rate limits apply besides the route's. */
    default boolean includeVirtualHostRateLimits() {
        return false;
    }

    // ---- Kind.ROUTE

    /**
     * Returns the upstream cluster for this request: {@code cluster}, a weighted pick from {@code
     * weighted_clusters} (uniform in {@code [0, total)}, or taken from {@code header_name} when the
     * request carries a number there), or the value of {@code cluster_header} ({@code ""} when the
     * request has no such header; the caller answers 503 as Envoy does).
     */
    String selectCluster(HttpRequest request);

    /** {@code RouteAction.timeout} in milliseconds; 15000 when unset; 0 means disabled. */
    long timeoutMillis();

    /** {@code RouteAction.idle_timeout} in milliseconds; 0 means none (or, with {@link #hasIdleTimeout()}, disabled). */
    long idleTimeoutMillis();

    /**
     * Whether {@code RouteAction.idle_timeout} is set: it then replaces the HCM's {@code stream_idle_timeout}
     * for the stream, and 0 turns the idle timeout off (Envoy's semantics).
     */
    default boolean hasIdleTimeout() {
        return false;
    }

    /** The route's retry policy, else the virtual host's, else {@link RetryPolicy#NONE}; never null. */
    RetryPolicy retryPolicy();

    /**
     * Mutates the request for the upstream, in Envoy's order ({@code
     * RouteEntryImplBase::finalizeRequestHeaders}): request header mutations of route, virtual host
     * and route configuration (reversed when {@code most_specific_header_mutations_wins}), then
     * {@code host_rewrite_literal}/{@code host_rewrite_header}, then {@code prefix_rewrite} or
     * {@code regex_rewrite} of the path, saving the original in {@code x-envoy-original-path}.
     * Weighted-cluster level mutations are not applied; see {@link #transformRequest(HttpRequest,
     * String)}.
     */
    void transformRequest(HttpRequest request);

    /**
     * As {@link #transformRequest(HttpRequest)}, applying first the mutations and the host rewrite
     * of the chosen weighted cluster {@code selectedCluster} (the value {@link
     * #selectCluster(HttpRequest)} returned), as Envoy does.
     */
    default void transformRequest(HttpRequest request, String selectedCluster) {
        transformRequest(request);
    }

    /** {@code RouteAction.auto_host_rewrite}: the caller sets Host to the chosen endpoint's hostname. */
    boolean autoHostRewrite();

    /** Applies response header mutations of route, virtual host and configuration level, in place. */
    void transformResponse(HttpResponse response);

    /** As {@link #transformResponse(HttpResponse)}, first applying the chosen weighted cluster's. */
    default void transformResponse(HttpResponse response, String selectedCluster) {
        transformResponse(response);
    }

    /**
     * Returns the hash for RING_HASH and MAGLEV load balancing from {@code hash_policy}: header
     * (values sorted, optionally rewritten), cookie (existing cookies only; none is generated),
     * {@code connection_properties.source_ip} and {@code query_parameter}, combined and stopped at a
     * terminal policy as in Envoy, using XXH64. Empty when no policy produced a hash.
     *
     * @param downstreamRemote the client's address; may be null (then source_ip yields nothing)
     */
    OptionalLong hash(HttpRequest request, InetSocketAddress downstreamRemote);

    /**
     * {@code RouteAction.request_mirror_policies}, in order; an empty list (the same instance for every
     * route without them) when none, so that a caller pays one {@code isEmpty()} on the common path.
     */
    default List<RequestMirrorPolicy> mirrorPolicies() {
        return List.of();
    }

    // ---- Kind.REDIRECT

    /**
     * Builds the complete redirect response for this request (status 301 unless {@code
     * response_code} says otherwise, {@code location} per Envoy's {@code RedirectAction}, empty
     * body). The caller writes and releases it.
     */
    FullHttpResponse redirect(HttpRequest request);

    // ---- Kind.DIRECT_RESPONSE

    /** {@code DirectResponseAction.status}. */
    int directStatus();

    /** {@code DirectResponseAction.body} ({@code inline_string} or UTF-8 {@code inline_bytes}); "" if none. */
    String directBody();
}

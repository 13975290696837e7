package io.jmesh.proxy.filter.rbac;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.StreamInfo;

/**
 * One compiled {@code Permission} or {@code Principal} of Envoy's {@code config.rbac.v3}: immutable and thread-safe,
 * called on the request's event loop.
 */
@FunctionalInterface
interface RbacMatcher {

    /** Always matches ({@code any: true}). */
    RbacMatcher ANY = (r, c, s) -> true;

    /**
     * Whether the request matches.
     *
     * @param request    the request, or null on a network filter (then header and path rules do not match)
     * @param connection the downstream connection, never null
     * @param info       the stream's info (dynamic metadata, filter state, the downstream remote address), or null
     */
    boolean matches(RequestAttributes request, ConnectionInfo connection, StreamInfo info);
}

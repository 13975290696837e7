package io.jmesh.proxy.filter.extauthz;

import java.util.function.Consumer;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.netty.channel.EventLoop;

/**
 * Asks an authorization service about one request. Implementations never block the caller; {@code done} is called
 * exactly once, on any thread (callers hand the result back to their event loop).
 */
interface AuthzClient {

    /**
     * Sends {@code request} with a deadline of {@code timeoutMillis} (0: none). A failure to reach the service, a
     * timeout or an unreadable answer is an {@link AuthzResult.Status#ERROR} result, never an exception. Called on
     * {@code loop}, whose connection pools carry the call.
     */
    void check(CheckRequest request, long timeoutMillis, EventLoop loop, Consumer<AuthzResult> done);
}

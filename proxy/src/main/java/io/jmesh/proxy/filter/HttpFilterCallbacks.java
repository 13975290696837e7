package io.jmesh.proxy.filter;

import java.net.InetSocketAddress;

/** What a filter may do to its stream. */
public interface HttpFilterCallbacks {

    /** Ends the stream with a locally generated response (Envoy's {@code sendLocalReply}). */
    void sendLocalReply(int status, String body, String details);

    InetSocketAddress downstreamRemoteAddress();
}

package io.jmesh.proxy.network;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.channel.Channel;

/** What a {@link WriteFilter} may see of its connection (Envoy's {@code Network::WriteFilterCallbacks}). */
public interface WriteFilterCallbacks {

    /** The downstream connection. */
    Channel connection();

    /** Addresses, SNI, ALPN and TLS facts of the connection. */
    ConnectionInfo connectionInfo();
}

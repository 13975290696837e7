package io.jmesh.proxy.network.tcp;

import java.net.ServerSocket;

/** Opens {@link TcpProxyTest}'s echo server to tests of other packages. */
public final class TcpProxyTestAccess {

    private TcpProxyTestAccess() {}

    /** Serves {@code ss} as an echo server on daemon threads. */
    public static Thread echo(ServerSocket ss) {
        return TcpProxyTest.echo(ss);
    }
}

package io.jmesh.proxy.admin;

import java.net.InetSocketAddress;

/** Provisional; replaced by the telemetry branch. */
public final class AdminServer implements AutoCloseable {
    private final InetSocketAddress address;

    private AdminServer(InetSocketAddress address) {
        this.address = address;
    }

    public static AdminServer start(InetSocketAddress address, AdminContext context, io.netty.channel.EventLoopGroup group)
            throws InterruptedException {
        return new AdminServer(address);
    }

    public InetSocketAddress localAddress() {
        return address;
    }

    @Override
    public void close() {}
}

package io.jmesh.discovery.registry.zookeeper;

import java.net.InetSocketAddress;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.remoting.ChannelHandler;
import org.apache.dubbo.remoting.Client;
import org.apache.dubbo.remoting.RemotingException;
import org.apache.dubbo.remoting.RemotingServer;
import org.apache.dubbo.remoting.Transporter;
import org.apache.dubbo.remoting.transport.netty4.NettyServer;
import org.apache.dubbo.remoting.transport.netty4.NettyTransporter;

/**
 * Dubbo's Netty transporter, but its server binds 127.0.0.1: Dubbo binds the wildcard address for
 * any host starting with {@code 127.}, and tests listen on loopback only.
 * Registered as {@code loopback} in {@code META-INF/dubbo/org.apache.dubbo.remoting.Transporter}.
 */
public final class LoopbackTransporter implements Transporter {

    @Override
    public RemotingServer bind(URL url, ChannelHandler handler) throws RemotingException {
        return new NettyServer(url, handler) {
            @Override
            public InetSocketAddress getBindAddress() {
                return new InetSocketAddress("127.0.0.1", super.getBindAddress().getPort());
            }
        };
    }

    @Override
    public Client connect(URL url, ChannelHandler handler) throws RemotingException {
        return new NettyTransporter().connect(url, handler);
    }
}

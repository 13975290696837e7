package io.jmesh.it.rpc;

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
 * Dubbo's Netty transporter whose server binds {@code 127.0.0.1} instead of the wildcard address that Dubbo
 * binds for any host starting with {@code 127.}. On one machine the provider's sidecar
 * binds the same port on the workload's own loopback IP ({@code 127.0.0.21:P}), which a wildcard bind of
 * {@code P} would forbid. Selected with {@code ProtocolConfig.setServer("jmeshloopback")}; registered in
 * {@code META-INF/dubbo/org.apache.dubbo.remoting.Transporter}. Not needed with iptables redirection.
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

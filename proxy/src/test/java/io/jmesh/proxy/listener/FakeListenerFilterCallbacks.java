package io.jmesh.proxy.listener;

import java.net.InetSocketAddress;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * Callbacks for unit tests of one listener filter: an {@link EmbeddedChannel} (a stand-in for an accepted socket,
 * named so) and a connection info with the given addresses; {@link #consume} drops bytes from {@link #peeked}.
 */
public final class FakeListenerFilterCallbacks implements ListenerFilterCallbacks {

    public final EmbeddedChannel channel = new EmbeddedChannel();
    public final ConnectionInfo info;
    public ByteBuf peeked;
    public boolean continued;

    public FakeListenerFilterCallbacks(InetSocketAddress local, InetSocketAddress remote) {
        this.info = ConnectionInfo.create(local, remote);
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public ConnectionInfo connectionInfo() {
        return info;
    }

    @Override
    public void consume(int bytes) {
        peeked.skipBytes(bytes);
    }

    @Override
    public void continueFilterChain() {
        continued = true;
    }
}

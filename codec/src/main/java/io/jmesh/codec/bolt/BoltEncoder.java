package io.jmesh.codec.bolt;

import java.util.List;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;

/**
 * Writes {@link BoltMessage}s: the received bytes unchanged, or, after
 * {@link BoltMessage#withRequestId(int)}, a new fixed header (and CRC32 for v2 with the CRC switch)
 * in front of the unchanged class name, header map and content. Nothing is copied but the fixed
 * header. Stateless and {@link Sharable}.
 */
@Sharable
public final class BoltEncoder extends MessageToMessageEncoder<BoltMessage> {

    /** The shared instance. */
    public static final BoltEncoder INSTANCE = new BoltEncoder();

    /** Prefer {@link #INSTANCE}; public for pipelines built by reflection. */
    public BoltEncoder() {}

    @Override
    protected void encode(ChannelHandlerContext ctx, BoltMessage msg, List<Object> out) {
        out.add(msg.encode(ctx.alloc()));
    }
}

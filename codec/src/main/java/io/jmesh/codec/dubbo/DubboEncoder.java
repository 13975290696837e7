package io.jmesh.codec.dubbo;

import java.util.List;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;

/**
 * Writes {@link DubboMessage}s: the received bytes unchanged, or, after
 * {@link DubboMessage#withRequestId(long)}, a new 16-byte header in front of the unchanged body.
 * Stateless and {@link Sharable}.
 */
@Sharable
public final class DubboEncoder extends MessageToMessageEncoder<DubboMessage> {

    /** The shared instance. */
    public static final DubboEncoder INSTANCE = new DubboEncoder();

    /** Prefer {@link #INSTANCE}; public for pipelines built by reflection. */
    public DubboEncoder() {}

    @Override
    protected void encode(ChannelHandlerContext ctx, DubboMessage msg, List<Object> out) {
        out.add(msg.encode(ctx.alloc()));
    }
}

package io.jmesh.proxy.network.metadataexchange;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.PendingWriteQueue;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;

/**
 * One side of a metadata exchange on one TLS connection, placed right after the {@link SslHandler} (downstream: by
 * the {@code istio.metadata_exchange} network filter; upstream: by tcp_proxy for a cluster with that filter).
 *
 * <p>When the handshake ends with the ALPN {@code protocol}, it writes this node's exchange header
 * ({@link MetadataExchange#frame}) before any other byte of the connection (writes from the handlers after it wait
 * until then), then reads the peer's header off the front of the inbound bytes and passes on the rest. The peer
 * lands in a {@link PeerSlot}. With another ALPN, no TLS, or a peer whose first bytes are not an exchange header
 * (another magic), the bytes pass untouched and the slot says "not found", as Istio's filter does; a peer announcing
 * more than {@link MetadataExchange#MAX_DATA_BYTES} has its connection closed. The handler removes itself when the
 * exchange is over. On the channel's event loop only.
 */
public final class MetadataExchangeHandler extends ChannelDuplexHandler {

    private static final Logger logger = LoggerFactory.getLogger(MetadataExchangeHandler.class);

    /** The handler's name in a pipeline. */
    public static final String NAME = "metadata-exchange";

    private enum State { HANDSHAKE, READING, DONE }

    private final String protocol;
    private final byte[] ownFrame;
    private final PeerSlot slot;
    private State state = State.HANDSHAKE;
    private ChannelHandlerContext ctx;
    private PendingWriteQueue heldWrites;
    private ByteBuf cumulation;
    private int dataLength = -1;

    /**
     * @param protocol the ALPN protocol that starts the exchange
     * @param ownFrame this node's exchange header ({@link MetadataExchange#frame})
     * @param slot     where the peer goes
     */
    public MetadataExchangeHandler(String protocol, byte[] ownFrame, PeerSlot slot) {
        this.protocol = protocol;
        this.ownFrame = ownFrame;
        this.slot = slot;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        heldWrites = new PendingWriteQueue(ctx);
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            notFound();
            return;
        }
        ssl.handshakeFuture().addListener((Future<? super io.netty.channel.Channel> f) -> onHandshake(ssl, f));
    }

    private void onHandshake(SslHandler ssl, Future<?> f) {
        if (state != State.HANDSHAKE) {
            return;
        }
        if (!f.isSuccess() || !protocol.equals(ssl.applicationProtocol())) {
            notFound();
            return;
        }
        state = State.READING;
        // Our header first, then what the handlers after us wrote meanwhile.
        ctx.write(Unpooled.wrappedBuffer(ownFrame));
        heldWrites.removeAndWriteAll();
        ctx.flush();
        if (cumulation != null && cumulation.isReadable()) {
            read();
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (state == State.HANDSHAKE) {
            heldWrites.add(msg, promise);
            return;
        }
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        if (state == State.HANDSHAKE) {
            return; // flushed with our header, or when the exchange is not to be
        }
        ctx.flush();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.DONE || !(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (cumulation == null) {
            cumulation = ctx.alloc().buffer(Math.max(MetadataExchange.HEADER_BYTES, in.readableBytes()));
        }
        cumulation.writeBytes(in);
        in.release();
        if (state == State.READING) {
            read();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state != State.DONE) {
            // Still reading the peer's header: ask for more even when the handlers after us turned auto-read off.
            ctx.read();
            return;
        }
        ctx.fireChannelReadComplete();
    }

    /** Reads the peer's header off {@link #cumulation} when it is all there. */
    private void read() {
        if (dataLength < 0) {
            if (cumulation.readableBytes() < MetadataExchange.HEADER_BYTES) {
                return;
            }
            int magic = cumulation.getInt(cumulation.readerIndex());
            if (magic != MetadataExchange.MAGIC) {
                logger.debug("{} {}: the peer sent no exchange header (magic {}); passing its bytes on",
                        ctx.channel(), MetadataExchange.NAME, Integer.toHexString(magic));
                notFound();
                return;
            }
            long length = cumulation.getUnsignedInt(cumulation.readerIndex() + 4);
            if (length > MetadataExchange.MAX_DATA_BYTES) {
                logger.warn("{} {}: the peer announces {} bytes of metadata (expected: <= {}); closing",
                        ctx.channel(), MetadataExchange.NAME, length, MetadataExchange.MAX_DATA_BYTES);
                cumulation.release();
                cumulation = null;
                finish(null, null);
                ctx.close();
                return;
            }
            dataLength = (int) length;
        }
        if (cumulation.readableBytes() < MetadataExchange.HEADER_BYTES + dataLength) {
            return;
        }
        cumulation.skipBytes(MetadataExchange.HEADER_BYTES);
        byte[] data = new byte[dataLength];
        cumulation.readBytes(data);
        MetadataExchange.Peer peer = MetadataExchange.parseData(data);
        if (peer == null) {
            logger.debug("{} {}: the peer's exchange data is not a Struct; peer unknown", ctx.channel(),
                    MetadataExchange.NAME);
            finish(null, null);
        } else {
            finish(peer.metadata(), peer.id());
        }
    }

    /** No exchange on this connection: what was held goes on untouched. */
    private void notFound() {
        finish(null, null);
    }

    private void finish(com.google.protobuf.Struct metadata, String id) {
        boolean wasHandshake = state == State.HANDSHAKE;
        state = State.DONE;
        slot.complete(metadata, id, ConnectionInfo.of(ctx.channel()));
        if (wasHandshake) {
            heldWrites.removeAndWriteAll();
            ctx.flush();
        }
        ByteBuf rest = cumulation;
        cumulation = null;
        if (rest != null && rest.isReadable() && ctx.channel().isOpen()) {
            ctx.fireChannelRead(rest);
            ctx.fireChannelReadComplete();
        } else if (rest != null) {
            rest.release();
        }
        if (!ctx.isRemoved()) {
            ctx.pipeline().remove(this);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        abandon(ctx);
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        abandon(ctx); // e.g. the connection never came up
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
        if (heldWrites != null && !heldWrites.isEmpty()) {
            heldWrites.removeAndFailAll(new java.nio.channels.ClosedChannelException());
        }
    }

    /** The connection ended, or the handler left, before the exchange did: the peer is not found. */
    private void abandon(ChannelHandlerContext ctx) {
        if (state != State.DONE) {
            state = State.DONE;
            slot.complete(null, null, ConnectionInfo.of(ctx.channel()));
        }
    }
}

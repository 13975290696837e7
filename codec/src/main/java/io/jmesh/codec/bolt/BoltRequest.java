package io.jmesh.codec.bolt;

import java.util.Collections;
import java.util.Map;
import java.util.Set;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * A Bolt request, oneway request or heartbeat. The routing fields come from the header map that
 * SOFARPC fills: {@link #service()}, {@link #targetService()}, {@link #methodName()},
 * {@link #targetApp()}.
 */
public final class BoltRequest extends BoltMessage {

    /** Class name of a SOFARPC request's content. */
    public static final String SOFA_REQUEST_CLASS = "com.alipay.sofa.rpc.core.request.SofaRequest";

    private final int timeout;

    BoltRequest(Parsed p) {
        super(p);
        timeout = p.timeoutOrStatus;
    }

    private BoltRequest(BoltRequest m, int requestId) {
        super(m, requestId);
        timeout = m.timeout;
    }

    /**
     * Builds a request frame; the content is copied. v2 frames get ver1 = 2 and
     * {@code protocolSwitch} (bit 0: append a CRC32); v1 frames have neither.
     */
    public static BoltRequest of(ByteBufAllocator alloc, byte protocol, boolean oneway, int requestId, int timeout,
                                 byte protocolSwitch, String className, Map<String, String> headers, ByteBuf content) {
        final ByteBuf frame = writeFrame(alloc, protocol, protocol == PROTOCOL_V2 ? V2_VERSION_CRC : 0,
                                         oneway ? TYPE_ONEWAY : TYPE_REQUEST, CMD_REQUEST, (byte) 1, requestId,
                                         CODEC_HESSIAN2, protocolSwitch, timeout, className, headers, content);
        return (BoltRequest) parseOwned(frame);
    }

    /** Builds a heartbeat request as sofa-bolt sends it (no class, header or content; timeout -1). */
    public static BoltRequest heartbeat(ByteBufAllocator alloc, byte protocol, int requestId) {
        final ByteBuf frame = writeFrame(alloc, protocol, protocol == PROTOCOL_V2 ? V2_VERSION_CRC : 0, TYPE_REQUEST,
                                         CMD_HEARTBEAT, (byte) 1, requestId, CODEC_HESSIAN2, (byte) 0, -1, null,
                                         null, null);
        return (BoltRequest) parseOwned(frame);
    }

    static BoltMessage parseOwned(ByteBuf frame) {
        try {
            return parse(frame);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /** The timeout in milliseconds the client gave the call ({@code <= 0}: none). */
    public int timeout() {
        return timeout;
    }

    /** Whether the caller expects no response. */
    public boolean isOneway() {
        return type == TYPE_ONEWAY;
    }

    /** The {@code service} header: SOFARPC's {@code interface:version[:uniqueId]}, or {@code null}. */
    public String service() {
        return headers.get(HEADER_SERVICE);
    }

    /** The {@code sofa_head_target_service} header, or {@code null}. */
    public String targetService() {
        return headers.get(HEADER_TARGET_SERVICE);
    }

    /** The {@code sofa_head_method_name} header, or {@code null}. */
    public String methodName() {
        return headers.get(HEADER_METHOD_NAME);
    }

    /** The {@code sofa_head_target_app} header, or {@code null}. */
    public String targetApp() {
        return headers.get(HEADER_TARGET_APP);
    }

    /**
     * Returns a new request with {@code added} appended to the header map (an entry whose key is already there
     * is appended too: sofa-bolt reads the map in order, so the later one wins, as it does in {@link #headers()}).
     * Class name and content are not copied: the new frame shares them with this one (each holds its own
     * reference); its request id is this view's. This request is neither retained nor released.
     *
     * @throws BoltProtocolException if the header map would exceed 65535 bytes (its length is a 16-bit field)
     */
    public BoltRequest withHeaders(Map<String, String> added, ByteBufAllocator alloc) {
        return withHeaders(added, Collections.emptySet(), alloc);
    }

    /**
     * Returns a new request whose header map lacks the entries named in {@code removed} and has {@code added}.
     * With nothing to remove, {@code added} is appended as {@link #withHeaders(Map, ByteBufAllocator)} does;
     * otherwise the header map is rewritten: the entries kept in wire order (an entry named in {@code added} is
     * dropped too), then {@code added}. A name in both sets ends up with its {@code added} value. Class name and
     * content are shared, not copied; its request id is this view's. This request is neither retained nor released.
     *
     * @throws BoltProtocolException if the header map would exceed 65535 bytes (its length is a 16-bit field)
     */
    public BoltRequest withHeaders(Map<String, String> added, Set<String> removed, ByteBufAllocator alloc) {
        final int base = frame.readerIndex();
        final int fixed = fixedHeaderLength(protocol, type);
        final int classLen = frame.getUnsignedShort(base + fixed - 8);
        final int headerLen = frame.getUnsignedShort(base + fixed - 6);
        final boolean rewrite = !removed.isEmpty();
        final ByteBuf entries = alloc.buffer();
        final CompositeByteBuf out = alloc.compositeBuffer(5);
        try {
            if (rewrite) {
                final int start = base + fixed + classLen;
                final int end = start + headerLen;
                final int[] next = new int[1];
                int i = start;
                while (i < end) {
                    final int entryStart = i;
                    final String key = readHeaderString(frame, i, end, next, "key");
                    readHeaderString(frame, next[0], end, next, "value");
                    i = next[0];
                    if (key == null || !removed.contains(key) && !added.containsKey(key)) {
                        entries.writeBytes(frame, entryStart, i - entryStart);
                    }
                }
            }
            for (Map.Entry<String, String> e : added.entrySet()) {
                final byte[] k = e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                final byte[] v = e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                entries.writeInt(k.length).writeBytes(k).writeInt(v.length).writeBytes(v);
            }
            final int newHeaderLen = (rewrite ? 0 : headerLen) + entries.readableBytes();
            if (newHeaderLen > 0xffff) {
                throw new BoltProtocolException("header map: " + newHeaderLen + " bytes with the added entries "
                                                + "(expected: <= 65535)");
            }
            final ByteBuf head = alloc.buffer(fixed);
            head.writeBytes(frame, base, fixed);
            head.setInt(requestIdOffset(protocol), requestId);
            head.setShort(fixed - 6, newHeaderLen);
            out.addComponent(true, head);
            out.addComponent(true, frame.retainedSlice(base + fixed, rewrite ? classLen : classLen + headerLen));
            out.addComponent(true, entries.retain());
            out.addComponent(true, frame.retainedSlice(base + contentOffset, contentLength));
            if (hasCrc()) {
                final java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                update(crc, out, out.readerIndex(), out.readableBytes());
                out.addComponent(true, alloc.buffer(4).writeInt((int) crc.getValue()));
            }
            final ByteBuf frame = out.retain();
            try {
                return (BoltRequest) parse(frame);
            } catch (RuntimeException e) {
                frame.release();
                throw e;
            }
        } finally {
            entries.release();
            out.release();
        }
    }

    @Override
    public BoltRequest withRequestId(int requestId) {
        return new BoltRequest(this, requestId);
    }
}

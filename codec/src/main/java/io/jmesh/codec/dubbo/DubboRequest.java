package io.jmesh.codec.dubbo;

import java.util.Collections;
import java.util.Map;
import java.util.Set;

import io.jmesh.codec.internal.Hessian2FormatException;
import io.jmesh.codec.internal.Hessian2Reader;
import io.jmesh.codec.internal.Hessian2Writer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A Dubbo request or request event (heartbeat). For a Hessian2 invocation, the routing fields are read
 * from the body: {@link #dubboVersion()}, {@link #servicePath()}, {@link #serviceVersion()},
 * {@link #methodName()}, {@link #parameterTypesDesc()} and, after skipping the argument values without
 * materialising them, {@link #attachments()}. For events and other serializations these are
 * {@code null} and the attachments empty; the body is forwarded as is either way.
 */
public final class DubboRequest extends DubboMessage {

    private final String dubboVersion;
    private final String servicePath;
    private final String serviceVersion;
    private final String methodName;
    private final String parameterTypesDesc;
    private final Map<String, String> attachments;
    /**
     * Where attachments can be added, as a body offset: before the end ({@code Z}) of the attachments map, at the
     * {@code N} of a null map, or at the end of the body when there is none; -1 for events and other serializations.
     */
    private final int attachmentsEnd;
    /** 0: inside a map; 1: no map (append one); 2: a null map ({@code N}, replaced by one). */
    private final byte attachmentsKind;

    /** Parses the routing fields of {@code frame}; does not take ownership of it if this throws. */
    DubboRequest(ByteBuf frame) {
        super(frame);
        if (isEvent() || serializationId() != SERIALIZATION_HESSIAN2 || bodyLength() == 0) {
            dubboVersion = servicePath = serviceVersion = methodName = parameterTypesDesc = null;
            attachments = Collections.emptyMap();
            attachmentsEnd = -1;
            attachmentsKind = 0;
            return;
        }
        final Hessian2Reader in = new Hessian2Reader(body());
        try {
            dubboVersion = in.readString();
            servicePath = in.readString();
            serviceVersion = in.readString();
            methodName = in.readString();
            parameterTypesDesc = in.readString();
            final int args = countParameters(parameterTypesDesc);
            for (int i = 0; i < args; i++) {
                in.skipValue();
            }
            final int mapStart = in.readerIndex();
            final Map<String, String> map = in.isReadable() ? in.readStringMap() : null;
            attachments = map == null ? Collections.emptyMap() : map;
            if (mapStart == bodyLength()) {
                attachmentsEnd = mapStart;
                attachmentsKind = 1;
            } else {
                attachmentsEnd = in.readerIndex() - 1; // the map's Z, or the N of a null map
                attachmentsKind = (byte) (map == null ? 2 : 0);
            }
        } catch (Hessian2FormatException e) {
            throw new DubboProtocolException("body: " + e.getMessage() + " (expected: a Hessian2 invocation)");
        }
    }

    private DubboRequest(DubboRequest m, long requestId) {
        super(m, requestId);
        dubboVersion = m.dubboVersion;
        servicePath = m.servicePath;
        serviceVersion = m.serviceVersion;
        methodName = m.methodName;
        parameterTypesDesc = m.parameterTypesDesc;
        attachments = m.attachments;
        attachmentsEnd = m.attachmentsEnd;
        attachmentsKind = m.attachmentsKind;
    }

    /** Number of parameters in a JVM descriptor list such as {@code Ljava/lang/String;[IJ}. */
    static int countParameters(String desc) {
        if (desc == null || desc.isEmpty()) {
            return 0;
        }
        int count = 0;
        int i = 0;
        final int n = desc.length();
        while (i < n) {
            char c = desc.charAt(i);
            while (c == '[') {
                if (++i == n) {
                    throw new Hessian2FormatException("parameter descriptor ends in '[': " + desc);
                }
                c = desc.charAt(i);
            }
            if (c == 'L') {
                final int end = desc.indexOf(';', i);
                if (end < 0) {
                    throw new Hessian2FormatException("parameter descriptor lacks ';': " + desc);
                }
                i = end + 1;
            } else if ("ZBCSIJFD".indexOf(c) >= 0) {
                i++;
            } else {
                throw new Hessian2FormatException("parameter descriptor has '" + c + "': " + desc);
            }
            count++;
        }
        return count;
    }

    /**
     * Builds a heartbeat request as Dubbo sends it: request, two-way, event, Hessian2, body {@code N}.
     */
    public static DubboRequest heartbeat(ByteBufAllocator alloc, long requestId) {
        final ByteBuf body = Unpooled.wrappedBuffer(new byte[] { 'N' });
        final ByteBuf frame = writeFrame(alloc, FLAG_REQUEST | FLAG_TWO_WAY | FLAG_EVENT | SERIALIZATION_HESSIAN2, 0,
                                         requestId, body);
        return new DubboRequest(frame);
    }

    /**
     * Builds a Hessian2 invocation with string arguments: the body Dubbo's {@code DubboCodec} writes
     * for a method whose parameters are all {@code String}s. For tests and local probes.
     */
    public static DubboRequest invocation(ByteBufAllocator alloc, long requestId, boolean twoWay, String path,
                                          String version, String method, String[] args,
                                          Map<String, String> attachments) {
        final ByteBuf body = alloc.buffer();
        try {
            Hessian2Writer.writeString(body, "2.0.2");
            Hessian2Writer.writeString(body, path);
            Hessian2Writer.writeString(body, version);
            Hessian2Writer.writeString(body, method);
            Hessian2Writer.writeString(body, "Ljava/lang/String;".repeat(args.length));
            for (String a : args) {
                Hessian2Writer.writeString(body, a);
            }
            body.writeByte('H');
            for (Map.Entry<String, String> e : attachments.entrySet()) {
                Hessian2Writer.writeString(body, e.getKey());
                Hessian2Writer.writeString(body, e.getValue());
            }
            body.writeByte('Z');
            final ByteBuf frame = writeFrame(alloc, FLAG_REQUEST | (twoWay ? FLAG_TWO_WAY : 0) | SERIALIZATION_HESSIAN2,
                                             0, requestId, body);
            try {
                return new DubboRequest(frame);
            } catch (RuntimeException e) {
                frame.release();
                throw e;
            }
        } finally {
            body.release();
        }
    }

    /** Whether the caller expects a response. */
    public boolean isTwoWay() {
        return (flag & FLAG_TWO_WAY) != 0;
    }

    /** The Dubbo protocol version the caller wrote (e.g. {@code 2.0.2}), or {@code null}. */
    public String dubboVersion() {
        return dubboVersion;
    }

    /** The service path (usually the interface name), or {@code null}. */
    public String servicePath() {
        return servicePath;
    }

    /** The service version (e.g. {@code 1.0.0}; may be {@code 0.0.0} or empty), or {@code null}. */
    public String serviceVersion() {
        return serviceVersion;
    }

    /** The method name, or {@code null}. */
    public String methodName() {
        return methodName;
    }

    /** The parameter descriptor, e.g. {@code Ljava/lang/String;}, or {@code null}. */
    public String parameterTypesDesc() {
        return parameterTypesDesc;
    }

    /**
     * The attachments, unmodifiable, in wire order. Scalar values (strings, numbers, booleans) appear as
     * strings; null and complex values are left out.
     */
    public Map<String, String> attachments() {
        return attachments;
    }

    /** An attachment, or {@code null}. */
    public String attachment(String key) {
        return attachments.get(key);
    }

    /** The {@code interface} attachment, else the service path. */
    public String interfaceName() {
        final String i = attachments.get("interface");
        return i != null ? i : servicePath;
    }

    /** The {@code group} attachment, or {@code null}. */
    public String group() {
        return attachments.get("group");
    }

    /**
     * Returns a new request with {@code added} as string attachments, written at the end of the attachments map
     * (Dubbo reads it into a map in order, so an added key replaces an existing one, as in {@link #attachments()}).
     * The rest of the body is not copied: the new frame shares it with this one (each holds its own reference); its
     * request id is this view's. This request is neither retained nor released.
     *
     * @throws DubboProtocolException if this is an event or its body is not a Hessian2 invocation
     */
    public DubboRequest withAttachments(Map<String, String> added, ByteBufAllocator alloc) {
        if (attachmentsEnd < 0) {
            throw new DubboProtocolException("attachments: none in this frame (expected: a Hessian2 invocation)");
        }
        final ByteBuf entries = alloc.buffer();
        try {
            if (attachmentsKind != 0) {
                entries.writeByte('H');
            }
            writeStrings(entries, added);
            if (attachmentsKind != 0) {
                entries.writeByte('Z');
            }
            final int skip = attachmentsKind == 2 ? 1 : 0; // the N replaced by the new map
            return splice(attachmentsEnd, entries, attachmentsEnd + skip, alloc);
        } finally {
            entries.release();
        }
    }

    /**
     * Returns a new request whose attachments lack the string-keyed entries named in {@code removed} and have
     * {@code added}. With nothing to remove, this is {@link #withAttachments(Map, ByteBufAllocator)}; otherwise the
     * attachments map is rewritten: the entries kept in wire order (an entry named in {@code added} is dropped too),
     * then {@code added}. Arguments are shared, not copied; its request id is this view's. This request is neither
     * retained nor released.
     *
     * @throws DubboProtocolException if this is an event or its body is not a Hessian2 invocation
     */
    public DubboRequest withAttachments(Map<String, String> added, Set<String> removed, ByteBufAllocator alloc) {
        if (removed.isEmpty() || attachmentsKind != 0) {
            return withAttachments(added, alloc); // no map in the frame: nothing to remove
        }
        final ByteBuf body = body();
        final ByteBuf entries = alloc.buffer();
        try {
            // walk the body again, so that class definitions and type references in the arguments are known
            final Hessian2Reader in = new Hessian2Reader(body);
            for (int i = 0; i < 5; i++) {
                in.readString();
            }
            final int args = countParameters(parameterTypesDesc);
            for (int i = 0; i < args; i++) {
                in.skipValue();
            }
            in.readMapStart();
            final int firstEntry = in.readerIndex();
            while (!in.atMapEnd()) {
                final int entryStart = in.readerIndex();
                final Object key = in.readScalar();
                in.readScalar();
                if (!(key instanceof String k) || !removed.contains(k) && !added.containsKey(k)) {
                    entries.writeBytes(body, entryStart, in.readerIndex() - entryStart);
                }
            }
            writeStrings(entries, added);
            return splice(firstEntry, entries, attachmentsEnd, alloc);
        } catch (Hessian2FormatException e) {
            throw new DubboProtocolException("body: " + e.getMessage() + " (expected: a Hessian2 invocation)");
        } finally {
            entries.release();
        }
    }

    private static void writeStrings(ByteBuf out, Map<String, String> entries) {
        for (Map.Entry<String, String> e : entries.entrySet()) {
            Hessian2Writer.writeString(out, e.getKey());
            Hessian2Writer.writeString(out, e.getValue());
        }
    }

    /**
     * A new request whose body is this body's bytes {@code [0, keep)}, then {@code entries} (not released here), then
     * this body's bytes from {@code resume} on; the header is this one's with this view's request id and the new body
     * length. Shares this frame's bytes, each holding its own reference.
     */
    private DubboRequest splice(int keep, ByteBuf entries, int resume, ByteBufAllocator alloc) {
        final int bodyStart = frame.readerIndex() + HEADER_LENGTH;
        final CompositeByteBuf out = alloc.compositeBuffer(4);
        try {
            final ByteBuf head = alloc.buffer(HEADER_LENGTH);
            head.writeBytes(frame, frame.readerIndex(), HEADER_LENGTH);
            head.setLong(4, requestId);
            head.setInt(12, keep + entries.readableBytes() + bodyLength() - resume);
            out.addComponent(true, head);
            out.addComponent(true, frame.retainedSlice(bodyStart, keep));
            out.addComponent(true, entries.retain());
            out.addComponent(true, frame.retainedSlice(bodyStart + resume, bodyLength() - resume));
            final ByteBuf frame = out.retain();
            try {
                return new DubboRequest(frame);
            } catch (RuntimeException e) {
                frame.release();
                throw e;
            }
        } finally {
            out.release();
        }
    }

    @Override
    public DubboRequest withRequestId(long requestId) {
        return new DubboRequest(this, requestId);
    }

    @Override
    public String toString() {
        return "DubboRequest(id=" + requestId + ", flag=0x" + Integer.toHexString(flag & 0xff) + ", "
               + servicePath + ':' + serviceVersion + '#' + methodName + ", body=" + bodyLength() + "B)";
    }
}

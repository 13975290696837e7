package io.jmesh.proxy.filter.grpcweb;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The gRPC-Web filter of one stream, as Envoy's {@code GrpcWebFilter}. A request whose {@code content-type} is
 * not {@code application/grpc-web*} passes untouched. A gRPC-Web request goes upstream as gRPC
 * ({@code content-type: application/grpc}, {@code te: trailers}, {@code grpc-accept-encoding} when absent); a
 * {@code application/grpc-web-text} body is base64-decoded (a body whose length is not a multiple of 4, or with a
 * character outside base64, ends the stream with a 400 local reply, {@code grpc_base_64_decode_failed_bad_size}
 * or {@code grpc_base_64_decode_failed}). The response gets {@code content-type: application/grpc-web+proto}
 * (or {@code application/grpc-web-text+proto}, base64-encoded, when the request's {@code accept} asks for text);
 * its trailers become the trailer frame ({@code 0x80}, a 4-byte length, {@code name:value\r\n} lines) at the end of
 * the body, and the HTTP trailers are emptied.
 */
final class GrpcWebFilter implements HttpFilter {

    static final String GRPC_WEB = "application/grpc-web";
    static final String GRPC_WEB_TEXT = "application/grpc-web-text";
    static final String GRPC_WEB_PROTO = "application/grpc-web+proto";
    static final String GRPC_WEB_TEXT_PROTO = "application/grpc-web-text+proto";
    private static final byte TRAILER_FLAG = (byte) 0x80;

    private final Stats stats;
    private StreamDecoderFilterCallbacks decoder;
    private StreamEncoderFilterCallbacks encoder;
    private boolean grpcWeb;
    private boolean textRequest;
    private boolean textResponse;
    private String statPath;
    private boolean charged;
    /** Base64 characters of the request not yet decoded (fewer than 4). */
    private final byte[] decodeRest = new byte[4];
    private int decodeRestLen;
    /** Response bytes not yet base64-encoded (fewer than 3). */
    private final byte[] encodeRest = new byte[3];
    private int encodeRestLen;

    GrpcWebFilter(Stats stats) {
        this.stats = stats;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {
        this.encoder = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        HttpHeaders h = request.headers();
        String ct = h.get(HttpHeaderNames.CONTENT_TYPE);
        if (ct == null || !ct.startsWith(GRPC_WEB)) {
            return FilterHeadersStatus.CONTINUE;
        }
        grpcWeb = true;
        textRequest = ct.startsWith(GRPC_WEB_TEXT);
        String accept = h.get(HttpHeaderNames.ACCEPT);
        textResponse = GRPC_WEB_TEXT.equals(accept) || GRPC_WEB_TEXT_PROTO.equals(accept);
        if (textRequest) {
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
        h.set(HttpHeaderNames.TE, "trailers");
        if (!h.contains("grpc-accept-encoding")) {
            h.set("grpc-accept-encoding", "identity,deflate,gzip");
        }
        statPath = servicePath(request.uri());
        return FilterHeadersStatus.CONTINUE;
    }

    /** {@code service.method} of a gRPC path {@code /service/method}, or null. */
    static String servicePath(String uri) {
        int q = uri.indexOf('?');
        String p = q < 0 ? uri : uri.substring(0, q);
        if (p.length() < 4 || p.charAt(0) != '/') {
            return null;
        }
        int slash = p.indexOf('/', 1);
        if (slash <= 1 || slash == p.length() - 1 || p.indexOf('/', slash + 1) >= 0) {
            return null;
        }
        return p.substring(1, slash) + "." + p.substring(slash + 1);
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (!grpcWeb || !textRequest) {
            return FilterDataStatus.CONTINUE;
        }
        int available = decodeRestLen + data.readableBytes();
        ByteBuf out = data.alloc().buffer(available / 4 * 3);
        try {
            byte[] group = new byte[4];
            while (decodeRestLen + data.readableBytes() >= 4) {
                int n = 0;
                for (; n < decodeRestLen; n++) {
                    group[n] = decodeRest[n];
                }
                decodeRestLen = 0;
                data.readBytes(group, n, 4 - n);
                if (!decodeGroup(group, out)) {
                    data.release();
                    out.release();
                    out = null;
                    fail("grpc_base_64_decode_failed");
                    return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
                }
            }
            int left = data.readableBytes();
            data.readBytes(decodeRest, decodeRestLen, left);
            decodeRestLen += left;
            if (endStream && decodeRestLen != 0) {
                data.release();
                out.release();
                out = null;
                fail("grpc_base_64_decode_failed_bad_size");
                return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
            }
            // The piece is replaced by its decoded bytes: it is now empty, and the decoded bytes go on in its place.
            ByteBuf decoded = out;
            out = null;
            decoder.addDecodedData(decoded);
            return FilterDataStatus.CONTINUE;
        } finally {
            if (out != null) {
                out.release();
            }
        }
    }

    /** A bad body ends the stream with a 400 local reply (the caller released the piece it owns). */
    private void fail(String details) {
        decoder.sendLocalReply(400, "Bad gRPC-web request, invalid base64 data.", details);
    }

    private static final byte[] DECODE = new byte[128];

    static {
        java.util.Arrays.fill(DECODE, (byte) -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.length(); i++) {
            DECODE[alphabet.charAt(i)] = (byte) i;
        }
    }

    /** Decodes one 4-character group (padding allowed at its end); false when it is not base64. */
    private static boolean decodeGroup(byte[] g, ByteBuf out) {
        int pad = g[3] == '=' ? (g[2] == '=' ? 2 : 1) : 0;
        int bits = 0;
        for (int i = 0; i < 4 - pad; i++) {
            int c = g[i];
            if (c < 0 || c >= 128 || DECODE[c] < 0) {
                return false;
            }
            bits = bits << 6 | DECODE[c];
        }
        bits <<= 6 * pad;
        out.writeByte(bits >> 16);
        if (pad < 2) {
            out.writeByte(bits >> 8);
        }
        if (pad < 1) {
            out.writeByte(bits);
        }
        return true;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (!grpcWeb) {
            return FilterHeadersStatus.CONTINUE;
        }
        HttpHeaders h = response.headers();
        h.set(HttpHeaderNames.CONTENT_TYPE, textResponse ? GRPC_WEB_TEXT_PROTO : GRPC_WEB_PROTO);
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        if (endStream) {
            charge(h.get("grpc-status")); // trailers-only: the status travels in the headers
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        if (!grpcWeb || !textResponse) {
            return FilterDataStatus.CONTINUE;
        }
        ByteBuf encoded = base64(data, endStream);
        if (encoded != null) {
            encoder.addEncodedData(encoded);
        }
        return FilterDataStatus.CONTINUE;
    }

    /**
     * Encodes what is pending plus all of {@code data} (drained), keeping up to 2 bytes for the next piece unless
     * {@code last}; null when nothing is ready.
     */
    private ByteBuf base64(ByteBuf data, boolean last) {
        int total = encodeRestLen + data.readableBytes();
        int now = last ? total : total / 3 * 3;
        if (now == 0) {
            int left = data.readableBytes();
            data.readBytes(encodeRest, encodeRestLen, left);
            encodeRestLen += left;
            return null;
        }
        byte[] in = new byte[now];
        System.arraycopy(encodeRest, 0, in, 0, encodeRestLen);
        data.readBytes(in, encodeRestLen, now - encodeRestLen);
        encodeRestLen = data.readableBytes();
        data.readBytes(encodeRest, 0, encodeRestLen);
        byte[] out = java.util.Base64.getEncoder().encode(in);
        return data.alloc().buffer(out.length).writeBytes(out);
    }

    @Override
    public FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
        if (!grpcWeb) {
            return FilterTrailersStatus.CONTINUE;
        }
        charge(trailers.get("grpc-status"));
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : trailers) {
            sb.append(e.getKey().toLowerCase(java.util.Locale.ROOT)).append(':').append(e.getValue()).append("\r\n");
        }
        byte[] block = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuf frame = encoderAlloc().buffer(5 + block.length);
        frame.writeByte(TRAILER_FLAG).writeInt(block.length).writeBytes(block);
        if (textResponse) {
            ByteBuf raw = frame;
            try {
                frame = base64(raw, true);
            } finally {
                raw.release(); // base64 copied it out; the result is a new buffer
            }
        }
        encoder.addEncodedData(frame);
        trailers.clear(); // they travel in the body now
        return FilterTrailersStatus.CONTINUE;
    }

    private io.netty.buffer.ByteBufAllocator encoderAlloc() {
        return io.netty.buffer.ByteBufAllocator.DEFAULT;
    }

    private void charge(String grpcStatus) {
        if (charged || statPath == null) {
            return;
        }
        String cluster = encoder.streamInfo().upstreamCluster();
        if (cluster == null || cluster.isEmpty()) {
            return;
        }
        charged = true;
        String p = "cluster." + cluster + ".grpc-web." + statPath + ".";
        stats.counter(p + "total").inc();
        stats.counter(p + ("0".equals(grpcStatus) ? "success" : "failure")).inc();
    }
}

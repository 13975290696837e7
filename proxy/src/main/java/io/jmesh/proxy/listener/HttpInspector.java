package io.jmesh.proxy.listener;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.listener.http_inspector}: on a plaintext connection, peeks at the first bytes and records
 * the application protocol as Envoy does: {@code h2c} for the HTTP/2 connection preface, {@code http/1.1} or
 * {@code http/1.0} for an HTTP/1.x request line ({@code METHOD SP target SP HTTP/1.x CRLF}), nothing otherwise.
 * Skipped on connections the TLS inspector found to be TLS. Looks at no more than {@value #MAX_INSPECT_BYTES}
 * bytes (Envoy's limit); a longer first line is not HTTP. Stats under {@code http_inspector.} as Envoy's:
 * {@code http10_found}, {@code http11_found}, {@code http2_found}, {@code http_not_found}. Stateless.
 */
public final class HttpInspector implements ListenerFilter {

    public static final String NAME = "envoy.filters.listener.http_inspector";

    /** Envoy's {@code MAX_INSPECT_SIZE}. */
    public static final int MAX_INSPECT_BYTES = 8192;

    private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** An inspector counting into stats of its own (tests). */
    static final HttpInspector INSTANCE = new HttpInspector(new Stats());

    private final Counter http10;
    private final Counter http11;
    private final Counter http2;
    private final Counter notFound;

    /** An inspector counting into {@code stats}. */
    public HttpInspector(Stats stats) {
        http10 = stats.counter("http_inspector.http10_found");
        http11 = stats.counter("http_inspector.http11_found");
        http2 = stats.counter("http_inspector.http2_found");
        notFound = stats.counter("http_inspector.http_not_found");
    }

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        String transport = callbacks.connectionInfo().transportProtocol();
        if (transport != null && !transport.equals("raw_buffer")) {
            return FilterStatus.CONTINUE;
        }
        return FilterStatus.STOP_ITERATION;
    }

    @Override
    public FilterStatus onData(ListenerFilterCallbacks callbacks, ByteBuf peeked) {
        String protocol;
        int n = peeked.readableBytes();
        int start = peeked.readerIndex();
        int preface = Math.min(n, H2_PREFACE.length);
        boolean prefacePrefix = true;
        for (int i = 0; i < preface; i++) {
            if (peeked.getByte(start + i) != H2_PREFACE[i]) {
                prefacePrefix = false;
                break;
            }
        }
        if (prefacePrefix && n < H2_PREFACE.length) {
            return FilterStatus.STOP_ITERATION;
        }
        if (prefacePrefix) {
            protocol = "h2c";
        } else {
            int r = requestLine(peeked, start, n);
            if (r == 0 && n < MAX_INSPECT_BYTES) {
                return FilterStatus.STOP_ITERATION;
            }
            protocol = r == 11 ? "http/1.1" : r == 10 ? "http/1.0" : null;
        }
        (protocol == null ? notFound : protocol.equals("h2c") ? http2 : protocol.equals("http/1.1") ? http11 : http10)
                .inc();
        if (protocol != null) {
            ConnectionInfo info = callbacks.connectionInfo();
            info.applicationProtocol(protocol);
            info.requestedApplicationProtocols(List.of(protocol));
        }
        return FilterStatus.CONTINUE;
    }

    /**
     * Reads an HTTP/1.x request line: 11 for HTTP/1.1, 10 for HTTP/1.0, 0 when more bytes are needed, -1 when the
     * bytes cannot start one.
     */
    private static int requestLine(ByteBuf b, int start, int n) {
        int limit = Math.min(n, MAX_INSPECT_BYTES);
        int i = 0;
        // method: one or more token characters, then SP
        while (i < limit) {
            byte c = b.getByte(start + i);
            if (c == ' ') {
                break;
            }
            if (!isTokenChar(c)) {
                return -1;
            }
            i++;
        }
        if (i == 0) {
            return -1;
        }
        // target and version, up to CRLF; no control characters
        int lineEnd = -1;
        for (int j = i; j < limit; j++) {
            byte c = b.getByte(start + j);
            if (c == '\n') {
                lineEnd = j;
                break;
            }
            if ((c < 0x20 && c != '\r' && c != '\t') || c == 0x7f) {
                return -1;
            }
        }
        if (lineEnd < 0) {
            return 0;
        }
        int end = lineEnd > 0 && b.getByte(start + lineEnd - 1) == '\r' ? lineEnd - 1 : lineEnd;
        String line = b.toString(start, end, StandardCharsets.US_ASCII);
        if (line.endsWith(" HTTP/1.1")) {
            return 11;
        }
        if (line.endsWith(" HTTP/1.0")) {
            return 10;
        }
        return -1;
    }

    private static boolean isTokenChar(byte c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    @Override
    public int maxReadBytes() {
        return MAX_INSPECT_BYTES;
    }

    /** The factory ({@code envoy.extensions.filters.listener.http_inspector.v3.HttpInspector}; no options). */
    public static final class Factory implements ListenerFilterFactory {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(
                    io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector.getDescriptor()));
        }

        @Override
        public Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException {
            HttpInspector f = new HttpInspector(context.stats());
            return () -> f;
        }
    }
}

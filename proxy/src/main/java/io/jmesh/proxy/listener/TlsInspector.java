package io.jmesh.proxy.listener;

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
 * {@code envoy.filters.listener.tls_inspector}: peeks at a TLS ClientHello ({@link ClientHello}) and records the
 * transport protocol {@code tls}, the SNI and the offered ALPN protocols in the {@link ConnectionInfo}, for filter
 * chain matching. Bytes that do not start a TLS handshake record leave the connection {@code raw_buffer}. A
 * ClientHello larger than one TLS record ({@value ClientHello#MAX_BYTES} bytes) closes the connection (Envoy's
 * {@code client_hello_too_large}). Stats under {@code tls_inspector.} as Envoy's: {@code tls_found},
 * {@code tls_not_found}, {@code sni_found}, {@code sni_not_found}, {@code alpn_found}, {@code alpn_not_found},
 * {@code client_hello_too_large}. Stateless.
 */
public final class TlsInspector implements ListenerFilter {

    public static final String NAME = "envoy.filters.listener.tls_inspector";

    /** An inspector counting into stats of its own (tests). */
    static final TlsInspector INSTANCE = new TlsInspector(new Stats());

    private final Counter tlsFound;
    private final Counter tlsNotFound;
    private final Counter sniFound;
    private final Counter sniNotFound;
    private final Counter alpnFound;
    private final Counter alpnNotFound;
    private final Counter tooLarge;

    /** An inspector counting into {@code stats}. */
    public TlsInspector(Stats stats) {
        tlsFound = stats.counter("tls_inspector.tls_found");
        tlsNotFound = stats.counter("tls_inspector.tls_not_found");
        sniFound = stats.counter("tls_inspector.sni_found");
        sniNotFound = stats.counter("tls_inspector.sni_not_found");
        alpnFound = stats.counter("tls_inspector.alpn_found");
        alpnNotFound = stats.counter("tls_inspector.alpn_not_found");
        tooLarge = stats.counter("tls_inspector.client_hello_too_large");
    }

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        return FilterStatus.STOP_ITERATION;
    }

    @Override
    public FilterStatus onData(ListenerFilterCallbacks callbacks, ByteBuf peeked) {
        if (!ClientHello.looksLikeTls(peeked)) {
            tlsNotFound.inc();
            return FilterStatus.CONTINUE;
        }
        ClientHello hello = ClientHello.parse(peeked);
        if (hello == null) {
            if (peeked.readableBytes() >= ClientHello.MAX_BYTES) {
                tooLarge.inc();
                callbacks.channel().close();
            }
            return FilterStatus.STOP_ITERATION;
        }
        tlsFound.inc();
        ConnectionInfo info = callbacks.connectionInfo();
        info.transportProtocol("tls");
        if (hello.serverName != null) {
            sniFound.inc();
            info.requestedServerName(hello.serverName);
        } else {
            sniNotFound.inc();
        }
        (hello.alpn.isEmpty() ? alpnNotFound : alpnFound).inc();
        info.requestedApplicationProtocols(hello.alpn);
        return FilterStatus.CONTINUE;
    }

    @Override
    public int maxReadBytes() {
        return ClientHello.MAX_BYTES;
    }

    /** The factory ({@code envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector}; no options read). */
    public static final class Factory implements ListenerFilterFactory {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(
                    io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor()));
        }

        @Override
        public Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException {
            TlsInspector f = new TlsInspector(context.stats());
            return () -> f;
        }
    }
}

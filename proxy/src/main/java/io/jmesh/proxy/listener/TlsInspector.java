package io.jmesh.proxy.listener;

import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.listener.tls_inspector}: peeks at a TLS ClientHello ({@link ClientHello}) and records the
 * transport protocol {@code tls}, the SNI and the offered ALPN protocols in the {@link ConnectionInfo}, for filter
 * chain matching. Bytes that do not start a TLS handshake record leave the connection {@code raw_buffer}. A
 * ClientHello larger than one TLS record ({@value ClientHello#MAX_BYTES} bytes) closes the connection (Envoy's
 * {@code client_hello_too_large}). Stateless.
 */
public final class TlsInspector implements ListenerFilter {

    public static final String NAME = "envoy.filters.listener.tls_inspector";

    static final TlsInspector INSTANCE = new TlsInspector();

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        return FilterStatus.STOP_ITERATION;
    }

    @Override
    public FilterStatus onData(ListenerFilterCallbacks callbacks, ByteBuf peeked) {
        if (!ClientHello.looksLikeTls(peeked)) {
            return FilterStatus.CONTINUE;
        }
        ClientHello hello = ClientHello.parse(peeked);
        if (hello == null) {
            return FilterStatus.STOP_ITERATION;
        }
        ConnectionInfo info = callbacks.connectionInfo();
        info.transportProtocol("tls");
        if (hello.serverName != null) {
            info.requestedServerName(hello.serverName);
        }
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
            return () -> INSTANCE;
        }
    }
}

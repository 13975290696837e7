package io.jmesh.proxy.transport;

import java.util.List;

import com.google.protobuf.Any;

import io.jmesh.proxy.extension.ExtensionContext;

/** {@value #NAME}: plaintext, downstream and upstream ({@code envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer}). */
public final class RawBufferTransportSocketFactory implements TransportSocketFactory {

    /** Envoy's name of the plaintext transport socket. */
    public static final String NAME = "envoy.transport_sockets.raw_buffer";
    /** Its config's type URL (an empty message). */
    public static final String TYPE_URL = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(TYPE_URL);
    }

    @Override
    public DownstreamTransportSocket createDownstream(Any typedConfig, ExtensionContext context) {
        return accepts(typedConfig) ? DownstreamTransportSocket.RAW_BUFFER : null;
    }

    @Override
    public UpstreamTransportSocket createUpstream(Any typedConfig, boolean http2, ExtensionContext context) {
        return accepts(typedConfig) ? UpstreamTransportSocket.RAW_BUFFER : null;
    }

    private static boolean accepts(Any typedConfig) {
        return typedConfig == null || typedConfig.getTypeUrl().isEmpty() || typedConfig.getTypeUrl().equals(TYPE_URL);
    }
}

package io.jmesh.proxy.transport;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.netty.channel.Channel;

/**
 * {@code jmesh.test.transport_sockets.counting}: a test transport socket registered through
 * {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory}, as a user jar would register one. It wraps
 * {@code raw_buffer} and counts the connections it carries under the {@code label} of its config (a
 * {@code TypedStruct} of type {@value #TYPE_URL}), downstream and upstream apart.
 */
public final class CountingTransportSocketFactory implements TransportSocketFactory {

    static final String NAME = "jmesh.test.transport_sockets.counting";
    static final String TYPE_URL = "type.googleapis.com/jmesh.test.CountingSocket";

    /** Connections by {@code down:<label>} and {@code up:<label>}. */
    static final Map<String, AtomicInteger> CONNECTIONS = new ConcurrentHashMap<>();

    private final RawBufferTransportSocketFactory raw = new RawBufferTransportSocketFactory();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(TYPE_URL);
    }

    static int connections(String key) {
        AtomicInteger n = CONNECTIONS.get(key);
        return n == null ? 0 : n.get();
    }

    private static String label(Any typedConfig) throws ConfigException {
        Value v;
        try {
            v = typedConfig == null ? null
                    : typedConfig.unpack(TypedStruct.class).getValue().getFieldsMap().get("label");
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + e.getMessage() + " (expected: a TypedStruct)");
        }
        if (v == null || !v.hasStringValue() || v.getStringValue().isEmpty()) {
            throw new ConfigException("typed_config.value.label: " + v + " (expected: a non-empty string)");
        }
        return v.getStringValue();
    }

    @Override
    public DownstreamTransportSocket createDownstream(Any typedConfig, ExtensionContext context)
            throws ConfigException {
        AtomicInteger n = CONNECTIONS.computeIfAbsent("down:" + label(typedConfig), k -> new AtomicInteger());
        DownstreamTransportSocket inner = raw.createDownstream(null, context);
        return new DownstreamTransportSocket() {
            @Override
            public void initChannel(Channel channel) {
                n.incrementAndGet();
                inner.initChannel(channel);
            }
        };
    }

    @Override
    public UpstreamTransportSocket createUpstream(Any typedConfig, boolean http2, ExtensionContext context)
            throws ConfigException {
        AtomicInteger n = CONNECTIONS.computeIfAbsent("up:" + label(typedConfig), k -> new AtomicInteger());
        UpstreamTransportSocket inner = raw.createUpstream(null, http2, context);
        return new UpstreamTransportSocket() {
            @Override
            public void initChannel(Channel channel) {
                n.incrementAndGet();
                inner.initChannel(channel);
            }
        };
    }
}

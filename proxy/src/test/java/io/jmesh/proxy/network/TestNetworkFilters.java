package io.jmesh.proxy.network;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/**
 * Network filters that exist for tests, registered through
 * {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory} of the test class path as a user jar would:
 * a byte counter and a filter that closes on a pattern and may hold new connections until released.
 */
public final class TestNetworkFilters {

    private TestNetworkFilters() {}

    static Struct value(Any typedConfig) throws ConfigException {
        try {
            return typedConfig.unpack(com.github.xds.type.v3.TypedStruct.class).getValue();
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: a TypedStruct)");
        }
    }

    /** {@code test.filters.network.byte_counter}: counts connections and bytes both ways. */
    public static final class ByteCounterFactory implements NetworkFilterFactory {
        @Override
        public String name() {
            return "test.filters.network.byte_counter";
        }

        @Override
        public List<String> typeUrls() {
            return List.of("type.googleapis.com/test.jmesh.ByteCounter");
        }

        @Override
        public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
            Struct v = value(typedConfig);
            if (!v.containsFields("stat_prefix")) {
                throw new ConfigException("typed_config.value.stat_prefix: missing (expected: a prefix)");
            }
            String prefix = "test." + v.getFieldsOrThrow("stat_prefix").getStringValue() + ".";
            Counter cx = context.stats().counter(prefix + "cx");
            Counter rx = context.stats().counter(prefix + "rx_bytes");
            Counter tx = context.stats().counter(prefix + "tx_bytes");
            return m -> m.addFilter(new NetworkFilter() {
                @Override
                public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {}

                @Override
                public FilterStatus onNewConnection() {
                    cx.inc();
                    return FilterStatus.CONTINUE;
                }

                @Override
                public FilterStatus onData(ByteBuf data) {
                    rx.add(data.readableBytes());
                    return FilterStatus.CONTINUE;
                }

                @Override
                public FilterStatus onWrite(ByteBuf data) {
                    tx.add(data.readableBytes());
                    return FilterStatus.CONTINUE;
                }
            });
        }
    }

    /** Connections a {@code deny_pattern} filter with {@code hold: true} is holding. */
    static final Set<ReadFilterCallbacks> HELD = ConcurrentHashMap.newKeySet();

    /** Resumes every held connection. */
    static void releaseHeld() {
        for (ReadFilterCallbacks cb : List.copyOf(HELD)) {
            HELD.remove(cb);
            cb.connection().eventLoop().execute(cb::continueReading);
        }
    }

    /**
     * {@code test.filters.network.deny_pattern}: closes the connection when the client sends {@code pattern}
     * (counted in {@code test.deny.denied}); with {@code hold: true} it holds each new connection until
     * {@link #releaseHeld()}.
     */
    public static final class DenyPatternFactory implements NetworkFilterFactory {
        @Override
        public String name() {
            return "test.filters.network.deny_pattern";
        }

        @Override
        public List<String> typeUrls() {
            return List.of("type.googleapis.com/test.jmesh.DenyPattern");
        }

        @Override
        public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
            Struct v = value(typedConfig);
            byte[] pattern = v.getFieldsOrThrow("pattern").getStringValue().getBytes(StandardCharsets.US_ASCII);
            boolean hold = v.containsFields("hold") && v.getFieldsOrThrow("hold").getBoolValue();
            Counter denied = context.stats().counter("test.deny.denied");
            return m -> m.addReadFilter(new ReadFilter() {
                private ReadFilterCallbacks callbacks;

                @Override
                public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
                    this.callbacks = callbacks;
                }

                @Override
                public FilterStatus onNewConnection() {
                    if (hold) {
                        HELD.add(callbacks);
                        return FilterStatus.STOP_ITERATION;
                    }
                    return FilterStatus.CONTINUE;
                }

                @Override
                public FilterStatus onData(ByteBuf data) {
                    if (ByteBufUtil.indexOf(io.netty.buffer.Unpooled.wrappedBuffer(pattern), data) >= 0) {
                        denied.inc();
                        callbacks.connection().close();
                        return FilterStatus.STOP_ITERATION;
                    }
                    return FilterStatus.CONTINUE;
                }
            });
        }
    }

    /** What {@code test.filters.network.peer_recorder} saw of each connection, on its first bytes. */
    static final java.util.concurrent.BlockingQueue<String> PEERS = new java.util.concurrent.LinkedBlockingQueue<>();

    /**
     * {@code test.filters.network.peer_recorder}: on a connection's first bytes, records what the
     * {@link io.jmesh.proxy.stream.ConnectionInfo} says of the peer (principal, SNI, TLS version, ALPN).
     */
    public static final class PeerRecorderFactory implements NetworkFilterFactory {
        @Override
        public String name() {
            return "test.filters.network.peer_recorder";
        }

        @Override
        public List<String> typeUrls() {
            return List.of();
        }

        @Override
        public NetworkFilterInstaller create(Any typedConfig, Context context) {
            return m -> m.addReadFilter(new ReadFilter() {
                private ReadFilterCallbacks callbacks;
                private boolean seen;

                @Override
                public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
                    this.callbacks = callbacks;
                }

                @Override
                public FilterStatus onData(ByteBuf data) {
                    if (!seen) {
                        seen = true;
                        io.jmesh.proxy.stream.ConnectionInfo i = callbacks.connectionInfo();
                        PEERS.add("principal=" + i.peerPrincipal() + " sni=" + i.requestedServerName() + " tls="
                                + i.tlsVersion() + " transport=" + i.transportProtocol() + " certs="
                                + i.peerCertificates().size());
                    }
                    return FilterStatus.CONTINUE;
                }
            });
        }
    }
}

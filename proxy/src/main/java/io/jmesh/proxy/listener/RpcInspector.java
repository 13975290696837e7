package io.jmesh.proxy.listener;

import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.Any;

import io.jmesh.codec.bolt.BoltDecoder;
import io.jmesh.codec.dubbo.DubboDecoder;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.ProtocolDetectionState;

/**
 * {@value #NAME}: protocol sniffing for the RPC protocols (what MOSN's {@code Auto} protocol does), with the
 * codecs' own {@code detect}: a plaintext connection whose first bytes start a Bolt frame
 * ({@link BoltDecoder#detect}, protocol byte 1 or 2, a request/response type and a known command code) gets the
 * application protocol {@value #BOLT}, one starting with Dubbo's magic {@code 0xdabb} gets {@value #DUBBO}, so that
 * {@code filter_chain_match.application_protocols} picks their chain. Peeks at no more than
 * {@value #MAX_BYTES} bytes. Skipped on TLS connections and on connections whose protocol an earlier filter (the
 * HTTP inspector) already found. Takes no config: {@code typed_config} may be omitted or be a {@code TypedStruct}
 * of type URL {@value #TYPE_URL}. Stateless.
 */
public final class RpcInspector implements ListenerFilter {

    public static final String NAME = "jmesh.filters.listener.rpc_inspector";
    public static final String TYPE_URL = "type.googleapis.com/jmesh.filters.listener.rpc_inspector.v1.RpcInspector";

    /** The application protocol name of SOFARPC's Bolt (v1 and v2). */
    public static final String BOLT = "bolt";
    /** The application protocol name of Dubbo. */
    public static final String DUBBO = "dubbo";

    /** Enough for Bolt v2's protocol, ver1, type and command code. */
    static final int MAX_BYTES = 5;

    static final RpcInspector INSTANCE = new RpcInspector();

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        ConnectionInfo info = callbacks.connectionInfo();
        if ("tls".equals(info.transportProtocol()) || info.applicationProtocol() != null) {
            return FilterStatus.CONTINUE;
        }
        return FilterStatus.STOP_ITERATION;
    }

    @Override
    public FilterStatus onData(ListenerFilterCallbacks callbacks, ByteBuf peeked) {
        ProtocolDetectionState bolt = BoltDecoder.detect(peeked);
        ProtocolDetectionState dubbo = DubboDecoder.detect(peeked);
        String protocol = null;
        if (bolt == ProtocolDetectionState.DETECTED) {
            protocol = BOLT;
        } else if (dubbo == ProtocolDetectionState.DETECTED) {
            protocol = DUBBO;
        } else if (bolt == ProtocolDetectionState.NEEDS_MORE_DATA || dubbo == ProtocolDetectionState.NEEDS_MORE_DATA) {
            return peeked.readableBytes() >= MAX_BYTES ? FilterStatus.CONTINUE : FilterStatus.STOP_ITERATION;
        }
        if (protocol != null) {
            callbacks.connectionInfo().applicationProtocol(protocol).requestedApplicationProtocols(List.of(protocol));
        }
        return FilterStatus.CONTINUE;
    }

    @Override
    public int maxReadBytes() {
        return MAX_BYTES;
    }

    /** The factory. */
    public static final class Factory implements ListenerFilterFactory {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(TYPE_URL);
        }

        @Override
        public Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException {
            return () -> INSTANCE;
        }
    }
}

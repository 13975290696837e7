package io.jmesh.proxy.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;

import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.proxy.network.rpc.RpcFilterFactory;
import io.jmesh.proxy.network.rpc.RpcRouterFilterFactory;
import io.jmesh.proxy.telemetry.accesslog.AccessLoggerFactory;
import io.jmesh.proxy.telemetry.accesslog.AccessLogs;
import io.jmesh.proxy.transport.RawBufferTransportSocketFactory;
import io.jmesh.proxy.transport.TlsTransportSocketFactory;
import io.jmesh.proxy.transport.TransportSocketFactory;

/** The default registry holds the built-ins of the RPC filter, transport socket and access logger kinds. */
class ExtensionKindsTest {

    private final ExtensionRegistry registry = ExtensionRegistry.loadDefault();

    @Test
    void rpcFiltersStartWithTheRouter() {
        assertEquals(RpcRouterFilterFactory.NAME, registry.names(RpcFilterFactory.KIND).get(0));
        assertInstanceOf(RpcRouterFilterFactory.class,
                registry.findJson(RpcFilterFactory.KIND, "other", RpcRouterFilterFactory.TYPE_URL));
    }

    @Test
    void transportSocketsByTypeUrlThenName() {
        assertInstanceOf(TlsTransportSocketFactory.class, registry.find(TransportSocketFactory.KIND, "x",
                Any.pack(UpstreamTlsContext.getDefaultInstance())));
        assertInstanceOf(RawBufferTransportSocketFactory.class,
                registry.find(TransportSocketFactory.KIND, RawBufferTransportSocketFactory.NAME, null));
        assertNull(registry.find(TransportSocketFactory.KIND, "envoy.transport_sockets.alts", null));
    }

    @Test
    void accessLoggersByTypeUrlAndByATypedStructsInnerTypeUrl() {
        assertInstanceOf(AccessLogs.FileLoggerFactory.class, registry.find(AccessLoggerFactory.KIND, null,
                Any.pack(FileAccessLog.getDefaultInstance())));
        Any struct = Any.pack(TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog").build());
        assertInstanceOf(AccessLogs.StdoutLoggerFactory.class, registry.find(AccessLoggerFactory.KIND, null, struct));
        assertEquals(List.of(), registry.names(new ExtensionKind<>("none", Object.class, o -> "n", o -> List.of())));
    }
}

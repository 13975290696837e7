package io.jmesh.proxy.network.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.jmesh.codec.bolt.BoltMessage;
import io.jmesh.codec.bolt.BoltRequest;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;

/** Validation of the rpc_proxy typed_config, and the header view each protocol exposes to routing. */
class RpcProxyConfigTest {

    static final String PATH = "filters[0].typed_config";

    static Any typedConfig(String typeUrl, String valueJson) throws Exception {
        final Struct.Builder value = Struct.newBuilder();
        JsonFormat.parser().merge(valueJson, value);
        return Any.pack(TypedStruct.newBuilder().setTypeUrl(typeUrl).setValue(value).build());
    }

    static RpcProxyConfig create(String valueJson) throws Exception {
        return RpcProxyConfig.create(typedConfig(RpcProxyConfig.TYPE_URL, valueJson), () -> null, new Stats(), PATH);
    }

    static final String ROUTES = "\"route_config\": {\"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"*\"],"
                                 + " \"routes\": [{\"match\": {\"prefix\": \"/\"}, \"route\": {\"cluster\": \"c\"}}]}]}";

    @Test
    void readsEveryField() throws Exception {
        final RpcProxyConfig c = create("{\"stat_prefix\": \"s\", \"protocol\": \"dubbo\", \"timeout\": \"1.5s\","
                                        + " \"max_frame_bytes\": 65536, " + ROUTES + "}");
        assertEquals(RpcProtocol.DUBBO, c.protocol());
        assertEquals("s", c.statPrefix());
        assertEquals(1500, c.defaultTimeoutMillis());
        assertEquals(65536, c.maxFrameBytes());
        assertTrue(RpcProxyConfig.matches(typedConfig(RpcProxyConfig.TYPE_URL, "{}")));
    }

    @Test
    void defaults() throws Exception {
        final RpcProxyConfig c = create("{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", " + ROUTES + "}");
        assertEquals(RpcProtocol.BOLT, c.protocol());
        assertEquals(0, c.defaultTimeoutMillis());
        assertEquals(RpcProxyConfig.DEFAULT_MAX_FRAME_BYTES, c.maxFrameBytes());
    }

    @Test
    void rejectsBadFieldsWithTheirPath() {
        assertEquals(PATH + ".value.protocol: \"thrift\" (expected: bolt or dubbo)",
                     assertThrows(ConfigException.class, () -> create(
                             "{\"stat_prefix\": \"s\", \"protocol\": \"thrift\", " + ROUTES + "}")).getMessage());
        assertEquals(PATH + ".value.stat_prefix: null (expected: a non-empty string)",
                     assertThrows(ConfigException.class, () -> create(
                             "{\"protocol\": \"bolt\", " + ROUTES + "}")).getMessage());
        assertEquals(PATH + ".value.route_config: null (expected: an Envoy RouteConfiguration)",
                     assertThrows(ConfigException.class, () -> create(
                             "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\"}")).getMessage());
        assertEquals(PATH + ".value.max_frame_bytes: 10.0 (expected: an integer 64..2147483647)",
                     assertThrows(ConfigException.class, () -> create(
                             "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", \"max_frame_bytes\": 10, " + ROUTES
                             + "}")).getMessage());
        assertEquals(PATH + ".value.timeout: \"soon\" (expected: a duration such as \"3s\")",
                     assertThrows(ConfigException.class, () -> create(
                             "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", \"timeout\": \"soon\", " + ROUTES
                             + "}")).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> create(
                "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", \"colour\": 1, " + ROUTES + "}"))
                .getMessage().startsWith(PATH + ".value.colour: "));
        assertTrue(assertThrows(ConfigException.class, () -> create(
                "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", \"route_config\": {\"virtual_hosts\": 3}}"))
                .getMessage().startsWith(PATH + ".value.route_config"));
        assertEquals(PATH + ".type_url: type.googleapis.com/other.Thing (expected: " + RpcProxyConfig.TYPE_URL + ")",
                     assertThrows(ConfigException.class, () -> RpcProxyConfig.create(
                             typedConfig("type.googleapis.com/other.Thing", "{}"), () -> null, new Stats(), PATH))
                             .getMessage());
    }

    @Test
    void matchesOnlyItsTypedStruct() throws Exception {
        assertFalse(RpcProxyConfig.matches(typedConfig("type.googleapis.com/other.Thing", "{}")));
        assertFalse(RpcProxyConfig.matches(Any.pack(TcpProxy.getDefaultInstance())));
    }

    @Test
    void boltHeaderView() {
        final Map<String, String> headers = new LinkedHashMap<>();
        headers.put(BoltMessage.HEADER_SERVICE, "com.example.Echo:1.0");
        headers.put(BoltMessage.HEADER_TARGET_SERVICE, "com.example.Target:2.0");
        headers.put(BoltMessage.HEADER_METHOD_NAME, "sayHello");
        headers.put("x-color", "blue");
        final BoltRequest r = BoltRequest.of(ByteBufAllocator.DEFAULT, BoltMessage.PROTOCOL_V2, false, 1, 100, (byte) 0,
                                             "cls", headers, io.netty.buffer.Unpooled.EMPTY_BUFFER);
        try {
            final HttpRequest v = RpcProtocol.BOLT.routingView(r);
            assertEquals("com.example.Target", v.headers().get("host"));
            assertEquals("/com.example.Target/sayHello", v.uri());
            assertEquals("com.example.Target:2.0", v.headers().get("service"));
            assertEquals("sayHello", v.headers().get("method"));
            assertEquals("bolt", v.headers().get("x-rpc-protocol"));
            assertEquals("blue", v.headers().get("x-color"));
            assertEquals("sayHello", v.headers().get(BoltMessage.HEADER_METHOD_NAME));
            assertEquals(100, RpcProtocol.BOLT.timeoutMillis(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
    }

    @Test
    void dubboHeaderView() {
        final Map<String, String> att = new LinkedHashMap<>();
        att.put("interface", "com.example.Echo");
        att.put("group", "g1");
        att.put("timeout", "250");
        att.put("x-color", "red");
        final DubboRequest r = DubboRequest.invocation(ByteBufAllocator.DEFAULT, 1, true, "com.example.Echo", "1.0.0",
                                                       "sayHello", new String[] { "x" }, att);
        try {
            final HttpRequest v = RpcProtocol.DUBBO.routingView(r);
            assertEquals("com.example.Echo", v.headers().get("host"));
            assertEquals("/com.example.Echo/sayHello", v.uri());
            assertEquals("com.example.Echo", v.headers().get("service"));
            assertEquals("1.0.0", v.headers().get("version"));
            assertEquals("g1", v.headers().get("group"));
            assertEquals("sayHello", v.headers().get("method"));
            assertEquals("dubbo", v.headers().get("x-rpc-protocol"));
            assertEquals("red", v.headers().get("x-color"));
            assertEquals(250, RpcProtocol.DUBBO.timeoutMillis(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
        final DubboRequest noGroup = DubboRequest.invocation(ByteBufAllocator.DEFAULT, 2, true, "p", "", "m",
                                                             new String[0], Map.of());
        try {
            assertNull(RpcProtocol.DUBBO.routingView(noGroup).headers().get("group"));
            assertEquals(0, RpcProtocol.DUBBO.timeoutMillis(noGroup));
        } finally {
            ReferenceCountUtil.release(noGroup);
        }
    }
}

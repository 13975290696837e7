package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.id;
import static io.jmesh.proxy.network.rpc.RpcPeers.payload;
import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static io.jmesh.proxy.network.rpc.RpcPeers.status;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.bolt.BoltResponseStatus;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.util.ReferenceCountUtil;

/**
 * The rpc_proxy's RPC filter chain end to end over real sockets, with test filters loaded through ServiceLoader
 * ({@link TestRpcFilters}): a protocol-native local reply, a header that reaches the provider, pause and resume on
 * both paths; and the validation of the {@code filters} list.
 */
class RpcFilterChainTest {

    /** Routes {@code x-tenant: blue} to b and the rest to a, through this RPC filter chain ({@code filters}). */
    static Bootstraps config(RpcProtocol protocol, int a, int b, Path log, String filters) {
        return Bootstraps.rpc(protocol.protocolName())
                .statPrefix("test")
                .option("timeout", "20s")
                .option("filters", filters)
                .accessLog(log, "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %REQ(:PATH)% %UPSTREAM_CLUSTER%")
                .routeYaml("{ match: { prefix: \"/\", headers: [{ name: x-tenant, string_match: { exact: blue } }] },"
                        + " route: { cluster: b } }")
                .route("/", "a")
                .cluster("a", a)
                .cluster("b", b);
    }

    static final String ROUTER = "{ name: envoy.filters.generic.router, typed_config: { \"@type\": "
                                 + "type.googleapis.com/envoy.extensions.filters.network.generic_proxy.router.v3.Router } }";

    private final List<AutoCloseable> resources = new ArrayList<>();
    private RpcPeers.EchoServer a;
    private RpcPeers.EchoServer b;
    private ProxyFixture proxy;
    private Path log;

    private RpcPeers.Client start(RpcProtocol p, Path dir, String filters) throws Exception {
        a = new RpcPeers.EchoServer(p, "a");
        b = new RpcPeers.EchoServer(p, "b");
        resources.add(a);
        resources.add(b);
        log = dir.resolve("access.log");
        proxy = config(p, a.port(), b.port(), log, filters).start(2);
        final RpcPeers.Client c = new RpcPeers.Client(p, proxy.port());
        resources.add(0, c);
        return c;
    }

    @BeforeEach
    void clearPauses() {
        TestRpcFilters.Pause.REQUESTS.clear();
        TestRpcFilters.Pause.RESPONSES.clear();
        TestRpcFilters.Pause.EVENTS.clear();
    }

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, proxy);
    }

    private static boolean ok(Object msg) {
        return status(msg) == (msg instanceof BoltResponse ? BoltResponseStatus.SUCCESS : DubboStatus.OK);
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void aFilterRejectsAMethodWithTheProtocolsOwnLocalReply(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir, "[{ name: jmesh.test.rpc.reject_method, typed_config: { \"@type\": "
                + "type.googleapis.com/xds.type.v3.TypedStruct, type_url: type.googleapis.com/jmesh.test.rpc.RejectMethod,"
                + " value: { method: forbidden } } }, " + ROUTER + "]");
        final Object denied = c.call(request(p, 7, false, 0, "com.example.Echo", "forbidden", Map.of(), "x"));
        final String expectedCode;
        try {
            assertEquals(7, id(denied));
            if (p == RpcProtocol.BOLT) {
                // SOFARPC's own error form: a SofaResponse with isError and the message, which the caller throws.
                final BoltResponse r = (BoltResponse) denied;
                assertEquals(BoltResponse.SOFA_RESPONSE_CLASS, r.className());
                assertEquals(BoltResponseStatus.SUCCESS, r.status());
                assertTrue(r.content().toString(UTF_8).contains("jmesh: bolt call /com.example.Echo/forbidden denied"),
                           r.content().toString(UTF_8));
                expectedCode = "0";
            } else {
                final DubboResponse r = (DubboResponse) denied;
                assertEquals(DubboStatus.BAD_REQUEST, r.status());
                assertEquals("jmesh: dubbo call /com.example.Echo/forbidden denied", r.errorMessage());
                expectedCode = "40";
            }
        } finally {
            ReferenceCountUtil.release(denied);
        }
        final Object allowed = c.call(request(p, 8, false, 0, "com.example.Echo", "echo", Map.of(), "y"));
        try {
            assertTrue(ok(allowed));
            assertEquals("a", server(allowed));
        } finally {
            ReferenceCountUtil.release(allowed);
        }
        assertEquals(List.of("echo"), new ArrayList<>(a.receivedMethods), "the denied call never went upstream");
        assertEquals(List.of(expectedCode + " rbac_access_denied /com.example.Echo/forbidden -",
                             (p == RpcProtocol.BOLT ? "0" : "20") + " via_upstream /com.example.Echo/echo a"),
                     AccessLogFiles.awaitLines(log, 2));
        assertEquals(1, proxy.counter("rpc.test.local_reply"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void anAddedHeaderReachesTheProviderAndCanReroute(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir, "[{ name: jmesh.test.rpc.add_header, typed_config: { \"@type\": "
                + "type.googleapis.com/xds.type.v3.TypedStruct, value: { name: x-tenant, value: blue } } }, "
                + ROUTER + "]");
        // Routed before the filter ran (x-tenant absent): cluster a, which still sees the added attachment.
        final Object first = c.call(request(p, 1, false, 0, "com.example.Echo", "echo", Map.of("k", "v"), "one"));
        try {
            assertTrue(ok(first));
            assertEquals("a", server(first));
            assertTrue(payload(first).contains("one"), payload(first));
        } finally {
            ReferenceCountUtil.release(first);
        }
        final Map<String, String> seen = a.receivedHeaders.poll(10, TimeUnit.SECONDS);
        assertNotNull(seen);
        assertEquals("blue", seen.get("x-tenant"));
        assertEquals("v", seen.get("k"), "the caller's own headers are kept");
        // The filter clears the route cache when asked: the router matches again, over the added header.
        final Object second = c.call(request(p, 2, false, 0, "com.example.Echo", "echo", Map.of("x-reroute", "1"),
                                             "two"));
        try {
            assertTrue(ok(second));
            assertEquals("b", server(second));
        } finally {
            ReferenceCountUtil.release(second);
        }
        assertEquals("blue", b.receivedHeaders.poll(10, TimeUnit.SECONDS).get("x-tenant"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void aPausedChainResumesOnBothPaths(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir, "[{ name: jmesh.test.rpc.pause }, "
                + "{ name: jmesh.test.rpc.add_header, typed_config: { \"@type\": type.googleapis.com/xds.type.v3.TypedStruct,"
                + " value: { name: x-after-pause, value: done } } }, " + ROUTER + "]");
        c.send(request(p, 5, false, 0, "com.example.Echo", "echo", Map.of(), "paused"));
        final RpcFilterCallbacks onRequest = TestRpcFilters.Pause.REQUESTS.poll(10, TimeUnit.SECONDS);
        assertNotNull(onRequest, "the pause filter saw the request");
        // Held by the filter: nothing can have gone upstream, nothing can have come back.
        assertTrue(a.receivedIds.isEmpty());
        assertNull(c.received.peek());
        onRequest.continueDecoding(); // from the test thread: handed over to the call's event loop
        final RpcFilterCallbacks onResponse = TestRpcFilters.Pause.RESPONSES.poll(10, TimeUnit.SECONDS);
        assertNotNull(onResponse, "the response reached the pause filter");
        assertEquals(1, a.receivedIds.size());
        assertEquals("done", a.receivedHeaders.peek().get("x-after-pause"), "the next filter ran after the resume");
        assertNull(c.received.peek(), "the response is held by the filter");
        onResponse.continueEncoding();
        final Object r = c.take();
        try {
            assertEquals(5, id(r));
            assertTrue(ok(r));
            assertTrue(payload(r).contains("paused"));
        } finally {
            ReferenceCountUtil.release(r);
        }
        final int okStatus = p == RpcProtocol.BOLT ? BoltResponseStatus.SUCCESS : DubboStatus.OK;
        assertEquals("request", TestRpcFilters.Pause.EVENTS.poll(10, TimeUnit.SECONDS));
        assertEquals("response:" + okStatus, TestRpcFilters.Pause.EVENTS.poll(10, TimeUnit.SECONDS));
        assertEquals("destroy", TestRpcFilters.Pause.EVENTS.poll(10, TimeUnit.SECONDS));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void aCallPausedWhenItsCallerLeavesEndsOnce(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir, "[{ name: jmesh.test.rpc.pause }, " + ROUTER + "]");
        c.send(request(p, 9, false, 0, "com.example.Echo", "echo", Map.of(), "x"));
        final RpcFilterCallbacks onRequest = TestRpcFilters.Pause.REQUESTS.poll(10, TimeUnit.SECONDS);
        assertNotNull(onRequest);
        c.close();
        assertEquals("request", TestRpcFilters.Pause.EVENTS.poll(10, TimeUnit.SECONDS));
        assertEquals("destroy", TestRpcFilters.Pause.EVENTS.poll(10, TimeUnit.SECONDS), "ended with its connection");
        onRequest.continueDecoding(); // too late: a no-op
        assertEquals(List.of("- downstream_remote_disconnect /com.example.Echo/echo -"),
                     AccessLogFiles.awaitLines(log, 1).stream().map(l -> l.replaceFirst("^-1 ", "- ")).toList());
        // A new caller is served: the proxy is fine, and the resumed call never went upstream.
        final RpcPeers.Client c2 = new RpcPeers.Client(p, proxy.port());
        resources.add(0, c2);
        c2.send(request(p, 10, false, 0, "com.example.Echo", "echo", Map.of(), "y"));
        TestRpcFilters.Pause.REQUESTS.poll(10, TimeUnit.SECONDS).continueDecoding();
        TestRpcFilters.Pause.RESPONSES.poll(10, TimeUnit.SECONDS).continueEncoding();
        final Object r = c2.take();
        try {
            assertEquals(10, id(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
        assertEquals(1, a.receivedIds.size(), "only the second call went upstream");
    }

    // ---- config

    private static String configError(String filtersJson) {
        final String value = "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", \"filters\": " + filtersJson
                             + ", \"route_config\": {\"virtual_hosts\": []}}";
        final ConfigException e = assertThrows(ConfigException.class, () -> RpcProxyConfig.create(
                RpcProxyConfigTest.typedConfig(RpcProxyConfig.TYPE_URL, value), () -> null, new Stats(), "f"));
        return e.getMessage();
    }

    @Test
    void filtersAreValidatedWithTheirPath() throws Exception {
        assertEquals("f.value.filters[0].name: jmesh.nope (expected: a supported RPC filter: "
                     + "[envoy.filters.generic.router, jmesh.test.rpc.reject_method, jmesh.test.rpc.add_header, "
                     + "jmesh.test.rpc.pause, jmesh.filters.rpc.rbac, jmesh.filters.rpc.ext_authz, jmesh.filters.rpc.local_ratelimit, jmesh.filters.rpc.ratelimit, istio.stats])",
                     configError("[{\"name\": \"jmesh.nope\"}, {\"name\": \"envoy.filters.generic.router\"}]"));
        assertEquals("f.value.filters[0].name: jmesh.test.rpc.pause (expected: the last filter to be "
                     + "envoy.filters.generic.router)", configError("[{\"name\": \"jmesh.test.rpc.pause\"}]"));
        assertEquals("f.value.filters[0].name: envoy.filters.generic.router (expected: the router to be the last "
                     + "filter)", configError("[{\"name\": \"envoy.filters.generic.router\"}, "
                                              + "{\"name\": \"jmesh.test.rpc.pause\"}]"));
        assertEquals("f.value.filters: [] (expected: a list of filters ending with envoy.filters.generic.router)",
                     configError("[]"));
        assertEquals("f.value.filters[0].typed_config.method: null (expected: a string)",
                     configError("[{\"name\": \"jmesh.test.rpc.reject_method\", \"typed_config\": {\"@type\": "
                                 + "\"type.googleapis.com/jmesh.test.rpc.RejectMethod\"}}, "
                                 + "{\"name\": \"envoy.filters.generic.router\"}]"));
        assertEquals("f.value.filters[0].typed_config.bind_upstream_connection: true (expected: false; rpc_proxy "
                     + "multiplexes calls over shared upstream connections)",
                     configError("[{\"name\": \"envoy.filters.generic.router\", \"typed_config\": {\"@type\": \""
                                 + RpcRouterFilterFactory.TYPE_URL + "\", \"bind_upstream_connection\": true}}]"));
        // Found by type URL whatever the name, as in Envoy.
        final RpcProxyConfig c = RpcProxyConfig.create(RpcProxyConfigTest.typedConfig(RpcProxyConfig.TYPE_URL,
                "{\"stat_prefix\": \"s\", \"protocol\": \"dubbo\", \"filters\": [{\"name\": \"deny\", \"typed_config\": "
                + "{\"@type\": \"type.googleapis.com/jmesh.test.rpc.RejectMethod\", \"method\": \"m\"}}, "
                + "{\"name\": \"router\", \"typed_config\": {\"@type\": \"" + RpcRouterFilterFactory.TYPE_URL + "\"}}],"
                + " \"route_config\": {\"virtual_hosts\": []}}"), () -> null, new Stats(), "f");
        assertEquals(1, c.filters.size());
    }
}

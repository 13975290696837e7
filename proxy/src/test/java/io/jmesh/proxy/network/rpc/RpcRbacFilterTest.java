package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.util.ReferenceCountUtil;

/**
 * {@code jmesh.filters.rpc.rbac} in the rpc_proxy over real sockets for Bolt and Dubbo: an HTTP-shaped policy
 * (path {@code /<interface>/<method>}, a header) decides, a denied call gets the protocol's own error with
 * {@code RBAC: access denied}, shadow rules only count; a bad policy is refused with its path.
 */
class RpcRbacFilterTest {

    static String rbacFilter(String rbacJsonFields) {
        return "[{ name: jmesh.filters.rpc.rbac, typed_config: { \"@type\": "
               + "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC, " + rbacJsonFields + " } }, "
               + RpcFilterChainTest.ROUTER + "]";
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private ProxyFixture proxy;

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, proxy);
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void policiesWrittenForHttpDecideRpcCalls(RpcProtocol p, @TempDir Path dir) throws Exception {
        RpcPeers.EchoServer a = new RpcPeers.EchoServer(p, "a");
        RpcPeers.EchoServer b = new RpcPeers.EchoServer(p, "b");
        resources.add(a);
        resources.add(b);
        Path log = dir.resolve("access.log");
        proxy = RpcFilterChainTest.config(p, a.port(), b.port(), log, rbacFilter(
                "rules: { action: ALLOW, policies: { \"echo-by-friends\": { permissions: [{ and_rules: { rules: ["
                + " { url_path: { path: { prefix: /com.example.Echo/ } } },"
                + " { header: { name: \":method\", string_match: { exact: echo } } } ] } }],"
                + " principals: [{ header: { name: x-caller, string_match: { exact: friend } } }] } } },"
                + " shadow_rules: { action: DENY, policies: { \"no-echo\": { permissions: [{ header: { name: \":method\","
                + " string_match: { exact: echo } } }], principals: [{ any: true }] } } }")).start(2);
        RpcPeers.Client c = new RpcPeers.Client(p, proxy.port());
        resources.add(0, c);
        Object allowed = c.call(request(p, 1, false, 0, "com.example.Echo", "echo", Map.of("x-caller", "friend"), "x"));
        try {
            assertEquals("a", server(allowed));
        } finally {
            ReferenceCountUtil.release(allowed);
        }
        Object denied = c.call(request(p, 2, false, 0, "com.example.Echo", "echo", Map.of("x-caller", "stranger"), "y"));
        try {
            assertEquals(2, RpcPeers.id(denied));
            if (denied instanceof BoltResponse r) {
                assertTrue(r.content().toString(UTF_8).contains("RBAC: access denied"), r.content().toString(UTF_8));
            } else {
                DubboResponse r = (DubboResponse) denied;
                assertEquals(DubboStatus.BAD_REQUEST, r.status());
                assertEquals("RBAC: access denied", r.errorMessage());
            }
        } finally {
            ReferenceCountUtil.release(denied);
        }
        List<String> lines = AccessLogFiles.awaitLines(log, 2);
        assertTrue(lines.get(1).contains("rbac_access_denied_matched_policy[none] /com.example.Echo/echo"), lines.get(1));
        assertEquals(1, proxy.counter("rpc.test.rbac.allowed"));
        assertEquals(1, proxy.counter("rpc.test.rbac.denied"));
        assertEquals(2, proxy.counter("rpc.test.rbac.shadow_denied"));
        assertEquals(List.of(1L), new ArrayList<>(a.receivedIds), "the denied call never went upstream");
    }

    @Test
    void aBadPolicyIsRefusedWithItsPath() {
        String value = "{\"stat_prefix\": \"s\", \"protocol\": \"bolt\", \"filters\": [{\"name\": \"jmesh.filters.rpc.rbac\","
                + " \"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC\","
                + " \"rules\": {\"policies\": {\"p\": {\"permissions\": [{\"url_path\": {\"path\": {\"prefix\": \"\"}}}],"
                + " \"principals\": [{\"any\": true}]}}}}}, {\"name\": \"envoy.filters.generic.router\"}],"
                + " \"route_config\": {\"virtual_hosts\": []}}";
        ConfigException e = assertThrows(ConfigException.class, () -> RpcProxyConfig.create(
                RpcProxyConfigTest.typedConfig(RpcProxyConfig.TYPE_URL, value), () -> null, new Stats(), "f"));
        assertEquals("f.value.filters[0].typed_config.rules.policies[\"p\"].permissions[0].url_path.path.prefix: \"\""
                + " (expected: non-empty)", e.getMessage());
    }
}

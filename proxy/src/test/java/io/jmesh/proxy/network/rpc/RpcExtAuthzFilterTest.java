package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestCertificates;
import io.netty.util.ReferenceCountUtil;

/**
 * {@code jmesh.filters.rpc.ext_authz} in the rpc_proxy over real sockets for Bolt and Dubbo, configured as discovery
 * configures it for an Istio CUSTOM policy: the RPC RBAC filter's shadow rules mark the calls to check, the ext_authz
 * filter (enabled by that mark) asks a real HTTPS authorization service (the JDK's, certificate from
 * {@link TestCertificates}, reached through a TLS cluster) about them as HTTP requests {@code /<interface>/<method>}
 * with the call's headers: allowed calls reach the provider with the service's header, denied ones get the protocol's
 * own error with the service's body, unmarked calls are not checked.
 */
class RpcExtAuthzFilterTest {

    private final List<AutoCloseable> resources = new ArrayList<>();
    private ProxyFixture proxy;

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, proxy);
    }

    private static HttpsServer authz(TestCertificates ca, BlockingQueue<String> asked) throws Exception {
        TestCertificates.Issued leaf = ca.issue("authz", null, List.of("authz.example"));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("leaf", leaf.key(), new char[0], new Certificate[] {leaf.certificate(), ca.caX509()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/", exchange -> {
            String caller = exchange.getRequestHeaders().getFirst("x-caller");
            asked.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " x-caller=" + caller);
            byte[] body;
            if ("friend".equals(caller)) {
                exchange.getResponseHeaders().add("x-authz-user", "alice");
                body = new byte[0];
                exchange.sendResponseHeaders(200, -1);
            } else {
                body = "go away".getBytes(UTF_8);
                exchange.sendResponseHeaders(403, body.length);
            }
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void customPolicyCallsAreCheckedByTheServiceOverTls(RpcProtocol p, @TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        BlockingQueue<String> asked = new LinkedBlockingQueue<>();
        HttpsServer server = authz(ca, asked);
        resources.add(() -> server.stop(0));
        RpcPeers.EchoServer a = new RpcPeers.EchoServer(p, "a");
        RpcPeers.EchoServer b = new RpcPeers.EchoServer(p, "b");
        resources.add(a);
        resources.add(b);
        Path log = dir.resolve("access.log");
        String filters = "[{ name: jmesh.filters.rpc.rbac, typed_config: { \"@type\": "
                + "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC, shadow_rules_stat_prefix: istio_ext_authz_,"
                + " shadow_rules: { action: DENY, policies: { \"istio-ext-authz-ns[foo]-policy[ext]-rule[0]\": {"
                + " permissions: [{ url_path: { path: { prefix: /com.example.Echo/ } } }], principals: [{ any: true }] } } } } },"
                + " { name: jmesh.filters.rpc.ext_authz, typed_config: { \"@type\": "
                + "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz, transport_api_version: V3,"
                + " allowed_headers: { patterns: [{ exact: x-caller }] },"
                + " http_service: { path_prefix: /check, server_uri: { uri: \"http://authz.example\", cluster: authz,"
                + " timeout: 10s }, authorization_response: { allowed_upstream_headers: { patterns: [{ exact: x-authz-user }] } } },"
                + " filter_enabled_metadata: { filter: jmesh.filters.rpc.rbac, path: [{ key:"
                + " istio_ext_authz_shadow_effective_policy_id }], value: { string_match: { prefix: istio-ext-authz } } } } },"
                + RpcFilterChainTest.ROUTER + "]";
        proxy = RpcFilterChainTest.config(p, a.port(), b.port(), log, filters)
                .cluster("authz", server.getAddress().getPort())
                .upstreamTls("authz", "authz.example", ca.caCertificate())
                .start(1);
        RpcPeers.Client c = new RpcPeers.Client(p, proxy.port());
        resources.add(0, c);

        Object allowed = c.call(request(p, 1, false, 0, "com.example.Echo", "echo", Map.of("x-caller", "friend"), "x"));
        try {
            assertEquals("a", server(allowed));
        } finally {
            ReferenceCountUtil.release(allowed);
        }
        assertEquals("alice", a.receivedHeaders.poll(10, TimeUnit.SECONDS).get("x-authz-user"));
        assertEquals("POST /check/com.example.Echo/echo x-caller=friend", asked.poll(10, TimeUnit.SECONDS)
                .replaceFirst("^[A-Za-z]+ ", "POST "));

        Object denied = c.call(request(p, 2, false, 0, "com.example.Echo", "echo", Map.of("x-caller", "mallory"), "y"));
        try {
            assertEquals(2, RpcPeers.id(denied));
            if (denied instanceof BoltResponse r) {
                assertTrue(r.content().toString(UTF_8).contains("go away"), r.content().toString(UTF_8));
            } else {
                assertEquals("go away", ((DubboResponse) denied).errorMessage());
            }
        } finally {
            ReferenceCountUtil.release(denied);
        }

        Object unchecked = c.call(request(p, 3, false, 0, "com.example.Other", "ping", Map.of(), "z"));
        try {
            assertEquals("a", server(unchecked));
        } finally {
            ReferenceCountUtil.release(unchecked);
        }
        List<String> lines = AccessLogFiles.awaitLines(log, 3);
        assertTrue(lines.get(1).contains("ext_authz_denied /com.example.Echo/echo"), lines.get(1));
        assertEquals(1, proxy.counter("rpc.test.ext_authz.ok"));
        assertEquals(1, proxy.counter("rpc.test.ext_authz.denied"));
        assertEquals(1, proxy.counter("rpc.test.ext_authz.disabled"));
        assertEquals(List.of("echo", "ping"), new ArrayList<>(a.receivedMethods),
                "the denied call never went upstream");
    }
}

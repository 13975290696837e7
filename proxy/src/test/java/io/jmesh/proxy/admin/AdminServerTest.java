package io.jmesh.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminServerTest {

    private final Stats stats = new Stats();
    private final AtomicBoolean hcFailed = new AtomicBoolean();
    private final AtomicInteger quits = new AtomicInteger();
    private volatile String state = "LIVE";

    private final AdminContext context = new AdminContext() {
        @Override
        public Stats stats() {
            return stats;
        }

        @Override
        public Message configDump() {
            HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_http").build();
            Listener listener = Listener.newBuilder().setName("virtualInbound")
                    .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                            .setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(Any.pack(hcm))))
                    .build();
            ListenersConfigDump listeners = ListenersConfigDump.newBuilder()
                    .addStaticListeners(ListenersConfigDump.StaticListener.newBuilder().setListener(Any.pack(listener)))
                    .build();
            return ConfigDump.newBuilder().addConfigs(Any.pack(listeners)).build();
        }

        @Override
        public String clustersText() {
            return "backend::10.0.0.1:80::health_flags::healthy\n";
        }

        @Override
        public String serverState() {
            return state;
        }

        @Override
        public long uptimeSeconds() {
            return 42;
        }

        @Override
        public String version() {
            return "jmesh/0.1.0";
        }

        @Override
        public void setHealthCheckFailed(boolean failed) {
            hcFailed.set(failed);
        }

        @Override
        public boolean healthCheckFailed() {
            return hcFailed.get();
        }

        @Override
        public void quit() {
            quits.incrementAndGet();
        }
    };

    private EventLoopGroup group;
    private AdminServer server;
    private HttpClient client;

    @BeforeEach
    void start() throws InterruptedException {
        group = new NioEventLoopGroup(1);
        server = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), context, group);
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stop() {
        server.close();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private HttpResponse<String> get(String pathAndQuery) throws Exception {
        return send("GET", pathAndQuery);
    }

    private HttpResponse<String> send(String method, String pathAndQuery) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.localAddress().getPort() + pathAndQuery);
        HttpRequest request = HttpRequest.newBuilder(uri)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void bindsAnEphemeralPort() {
        assertTrue(server.localAddress().getPort() > 0);
    }

    @Test
    void readyReflectsServerState() throws Exception {
        HttpResponse<String> live = get("/ready");
        assertEquals(200, live.statusCode());
        assertEquals("LIVE\n", live.body());
        state = "DRAINING";
        HttpResponse<String> draining = get("/ready");
        assertEquals(503, draining.statusCode());
        assertEquals("DRAINING\n", draining.body());
    }

    @Test
    void serverInfo() throws Exception {
        state = "PRE_INITIALIZING";
        HttpResponse<String> r = get("/server_info");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode json = new ObjectMapper().readTree(r.body());
        assertEquals("jmesh/0.1.0", json.get("version").asText());
        assertEquals("PRE_INITIALIZING", json.get("state").asText());
        assertEquals("42s", json.get("uptime_current_epoch").asText());
        assertEquals("42s", json.get("uptime_all_epochs").asText());
        assertTrue(json.has("command_line_options"));
    }

    @Test
    void configDumpResolvesAnyTypes() throws Exception {
        HttpResponse<String> r = get("/config_dump");
        assertEquals(200, r.statusCode());
        JsonNode json = new ObjectMapper().readTree(r.body());
        JsonNode dump = json.get("configs").get(0);
        assertEquals("type.googleapis.com/envoy.admin.v3.ListenersConfigDump", dump.get("@type").asText());
        JsonNode listener = dump.get("static_listeners").get(0).get("listener");
        assertEquals("virtualInbound", listener.get("name").asText());
        JsonNode hcm = listener.get("filter_chains").get(0).get("filters").get(0).get("typed_config");
        assertEquals("inbound_http", hcm.get("stat_prefix").asText());
    }

    @Test
    void clusters() throws Exception {
        HttpResponse<String> r = get("/clusters");
        assertEquals(200, r.statusCode());
        assertEquals("backend::10.0.0.1:80::health_flags::healthy\n", r.body());
    }

    @Test
    void statsTextFilterAndJson() throws Exception {
        stats.counter("cluster.backend.upstream_rq_total").add(3);
        stats.gauge("cluster.backend.upstream_cx_active").set(1);
        stats.counter("http.inbound.downstream_rq_total").add(2);

        HttpResponse<String> all = get("/stats");
        assertEquals(200, all.statusCode());
        assertEquals("cluster.backend.upstream_cx_active: 1\ncluster.backend.upstream_rq_total: 3\n"
                + "http.inbound.downstream_rq_total: 2\n", all.body());

        HttpResponse<String> filtered = get("/stats?filter=upstream_rq");
        assertEquals("cluster.backend.upstream_rq_total: 3\n", filtered.body());

        HttpResponse<String> json = get("/stats?format=json&filter=%5Ehttp%5C.");
        JsonNode node = new ObjectMapper().readTree(json.body());
        assertEquals(1, node.get("stats").size());
        assertEquals("http.inbound.downstream_rq_total", node.get("stats").get(0).get("name").asText());
        assertEquals(2, node.get("stats").get(0).get("value").asLong());

        assertEquals(400, get("/stats?filter=%28").statusCode());
    }

    @Test
    void statsPrometheus() throws Exception {
        stats.counter("cluster.backend.upstream_rq_200").add(3);
        stats.gauge("server.live").set(1);
        HttpResponse<String> r = get("/stats/prometheus");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertEquals("# TYPE envoy_cluster_upstream_rq counter\n"
                + "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"backend\"} 3\n"
                + "# TYPE envoy_server_live gauge\n"
                + "envoy_server_live{} 1\n", r.body());
        assertEquals("# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n",
                get("/stats/prometheus?filter=server").body());
        assertEquals(r.body(), get("/stats?format=prometheus").body());
        assertEquals(404, get("/stats?format=xml").statusCode());
    }

    @Test
    void healthcheckFailAndOkRequirePost() throws Exception {
        HttpResponse<String> viaGet = get("/healthcheck/fail");
        assertEquals(405, viaGet.statusCode());
        assertEquals("Method GET not allowed, POST required.", viaGet.body());
        assertFalse(hcFailed.get());

        HttpResponse<String> fail = send("POST", "/healthcheck/fail");
        assertEquals(200, fail.statusCode());
        assertEquals("OK\n", fail.body());
        assertTrue(hcFailed.get());

        assertEquals(200, send("POST", "/healthcheck/ok").statusCode());
        assertFalse(hcFailed.get());
    }

    @Test
    void quitquitquitRequiresPost() throws Exception {
        assertEquals(405, get("/quitquitquit").statusCode());
        assertEquals(0, quits.get());
        HttpResponse<String> r = send("POST", "/quitquitquit");
        assertEquals(200, r.statusCode());
        assertEquals("OK\n", r.body());
        assertEquals(1, quits.get());
    }

    @Test
    void unknownPathListsEndpoints() throws Exception {
        HttpResponse<String> r = get("/nope");
        assertEquals(404, r.statusCode());
        assertTrue(r.body().startsWith("invalid path. admin commands are:\n"), r.body());
        assertTrue(r.body().contains("  /stats/prometheus: "), r.body());
        assertTrue(r.body().contains("  /quitquitquit (POST): "), r.body());
    }
}

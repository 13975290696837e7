package io.jmesh.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.sun.net.httpserver.HttpServer;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.netty.channel.nio.NioEventLoopGroup;

/**
 * Istio's two Prometheus ports: 15090 (a listener of the generated sidecar bootstrap routed to the admin) and
 * 15020 (the proxy's metrics merged with the application's, from a real HTTP metrics endpoint). Scraped with curl.
 */
class PrometheusPortsTest {

    @Test
    void thePrometheusListenerServesTheAdminsStatsWithIstiosTags() throws Exception {
        int adminPort;
        // The listener's cluster must name the admin port before the proxy starts: probe a free one.
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            adminPort = probe.getLocalPort();
        }
        Bootstrap generated = AdsBootstrap.forDiscovery("127.0.0.1", 15010,
                "sidecar~127.0.0.1~reviews-v1-1.default~default.svc.cluster.local", Map.of(), Map.of(), adminPort, 0);
        assertEquals(AdsBootstrap.istioStatsConfig(), generated.getStatsConfig());
        // Without the control plane: keep the static part.
        Bootstrap.Builder b = generated.toBuilder().clearDynamicResources();
        b.getStaticResourcesBuilder().removeClusters(0); // xds-grpc
        ProxyServer proxy = ProxyServer.start(b.build(), 1);
        try {
            int port = proxy.listenerAddresses().get(AdsBootstrap.PROMETHEUS_STATS).getPort();
            String url = "http://127.0.0.1:" + port + "/stats/prometheus";
            Curl.Result first = Curl.run(url);
            assertEquals(200, first.status, first.toString());
            PrometheusText.parse(first.body);
            Curl.Result second = Curl.run(url);
            PrometheusText text = PrometheusText.parse(second.body);
            // Istio's cluster_name tag, not Envoy's envoy_cluster_name; counted before the admin renders it.
            assertEquals(List.of(new PrometheusText.Sample("envoy_cluster_upstream_rq_total",
                    Map.of("cluster_name", "prometheus_stats"), 2.0)), text.samples("envoy_cluster_upstream_rq_total"));
            assertEquals(404, Curl.run("http://127.0.0.1:" + port + "/config_dump").status,
                    "only /stats/prometheus is routed to the admin");
        } finally {
            proxy.close();
        }
    }

    @Test
    void theStatusPortMergesTheApplicationsMetrics() throws Exception {
        HttpServer app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        byte[] metrics = ("# HELP app_orders_total Orders.\n# TYPE app_orders_total counter\n"
                + "app_orders_total{kind=\"book\"} 7\n"
                + "# TYPE istio_requests_total counter\nistio_requests_total{x=\"y\"} 1\n")
                .getBytes(StandardCharsets.UTF_8);
        app.createContext("/custom/metrics", ex -> {
            ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
            ex.sendResponseHeaders(200, metrics.length);
            ex.getResponseBody().write(metrics);
            ex.close();
        });
        app.start();
        Stats stats = new Stats();
        stats.tagExtractors(io.jmesh.proxy.telemetry.TagExtractor.fromConfig(AdsBootstrap.istioStatsConfig(), "s"));
        stats.counter("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total").add(3);
        stats.tagged().counterFamily("istio_requests_total", List.of("reporter")).counter(new String[] {"source"}).add(5);
        Struct annotations = Struct.newBuilder()
                .putFields("prometheus.io/scrape", Value.newBuilder().setStringValue("true").build())
                .putFields("prometheus.io/port", Value.newBuilder().setStringValue(
                        String.valueOf(app.getAddress().getPort())).build())
                .putFields("prometheus.io/path", Value.newBuilder().setStringValue("/custom/metrics").build())
                .build();
        Struct node = Struct.newBuilder().putFields("ANNOTATIONS", Value.newBuilder().setStructValue(annotations)
                .build()).build();
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        MergedMetricsServer server = MergedMetricsServer.start(new InetSocketAddress("127.0.0.1", 0), stats,
                MergedMetricsServer.applicationMetrics(node), group);
        try {
            String url = "http://127.0.0.1:" + server.localAddress().getPort() + "/stats/prometheus";
            Curl.Result r = Curl.run(url);
            assertEquals(200, r.status, r.toString());
            PrometheusText text = PrometheusText.parse(r.body);
            assertEquals(List.of(new PrometheusText.Sample("app_orders_total", Map.of("kind", "book"), 7.0)),
                    text.samples("app_orders_total"));
            assertEquals(List.of(new PrometheusText.Sample("istio_requests_total", Map.of("reporter", "source"), 5.0)),
                    text.samples("istio_requests_total"), "the proxy's family wins over the application's");
            assertEquals(List.of(new PrometheusText.Sample("envoy_cluster_upstream_rq_total",
                    Map.of("cluster_name", "outbound|9080||reviews.default.svc.cluster.local"), 3.0)),
                    text.samples("envoy_cluster_upstream_rq_total"));

            app.stop(0);
            Curl.Result down = Curl.run(url);
            assertEquals(200, down.status, "the proxy's part is served without the application");
            PrometheusText withoutApp = PrometheusText.parse(down.body);
            assertTrue(withoutApp.samples("app_orders_total").isEmpty());
            assertEquals(List.of(new PrometheusText.Sample(MergedMetricsServer.SCRAPE_FAILURES,
                    Map.of("type", "application"), 1.0)), withoutApp.samples(MergedMetricsServer.SCRAPE_FAILURES));
        } finally {
            server.close();
            group.shutdownGracefully().syncUninterruptibly();
            app.stop(0);
        }
    }

    @Test
    void noScrapeAnnotationNoApplication() {
        assertEquals(null, MergedMetricsServer.applicationMetrics(Struct.getDefaultInstance()));
    }
}

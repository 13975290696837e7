package io.jmesh.proxy.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StatsRendererTest {

    @Test
    void textIsSortedNameValueLines() {
        Stats stats = new Stats();
        stats.counter("cluster.b.upstream_rq_total").add(2);
        stats.gauge("cluster.a.upstream_cx_active").set(5);
        stats.counter("http.ingress.downstream_rq_total").inc();
        assertEquals("cluster.a.upstream_cx_active: 5\n"
                + "cluster.b.upstream_rq_total: 2\n"
                + "http.ingress.downstream_rq_total: 1\n", StatsRenderer.text(stats));
    }

    @Test
    void prometheusExtractsEnvoyTagsAndWritesTypeLines() {
        Stats stats = new Stats();
        stats.counter("cluster.backend.upstream_rq_total").add(3);
        stats.counter("cluster.backend.upstream_rq_200").add(2);
        stats.counter("cluster.other.upstream_rq_503").add(1);
        stats.counter("cluster.backend.upstream_rq_2xx").add(2);
        stats.gauge("cluster.backend.upstream_cx_active").set(4);
        stats.counter("http.ingress_http.downstream_rq_4xx").add(7);
        stats.counter("listener.0.0.0.0_15001.downstream_cx_total").add(9);
        stats.counter("listener.0.0.0.0_15006.http.inbound.downstream_rq_completed").add(6);
        stats.counter("server.watchdog_miss").add(0);
        stats.gauge("server.live").set(1);

        String expected = ""
                + "# TYPE envoy_cluster_upstream_rq counter\n"
                + "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"backend\"} 2\n"
                + "envoy_cluster_upstream_rq{envoy_response_code=\"503\",envoy_cluster_name=\"other\"} 1\n"
                + "# TYPE envoy_cluster_upstream_rq_total counter\n"
                + "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend\"} 3\n"
                + "# TYPE envoy_cluster_upstream_rq_xx counter\n"
                + "envoy_cluster_upstream_rq_xx{envoy_response_code_class=\"2\",envoy_cluster_name=\"backend\"} 2\n"
                + "# TYPE envoy_http_downstream_rq_xx counter\n"
                + "envoy_http_downstream_rq_xx{envoy_response_code_class=\"4\","
                + "envoy_http_conn_manager_prefix=\"ingress_http\"} 7\n"
                + "# TYPE envoy_listener_downstream_cx_total counter\n"
                + "envoy_listener_downstream_cx_total{envoy_listener_address=\"0.0.0.0_15001\"} 9\n"
                + "# TYPE envoy_listener_http_downstream_rq_completed counter\n"
                + "envoy_listener_http_downstream_rq_completed{envoy_http_conn_manager_prefix=\"inbound\","
                + "envoy_listener_address=\"0.0.0.0_15006\"} 6\n"
                + "# TYPE envoy_server_watchdog_miss counter\n"
                + "envoy_server_watchdog_miss{} 0\n"
                + "# TYPE envoy_cluster_upstream_cx_active gauge\n"
                + "envoy_cluster_upstream_cx_active{envoy_cluster_name=\"backend\"} 4\n"
                + "# TYPE envoy_server_live gauge\n"
                + "envoy_server_live{} 1\n";
        assertEquals(expected, StatsRenderer.prometheus(stats));
    }

    @Test
    void prometheusSanitizesNamesAndEscapesLabelValues() {
        Stats stats = new Stats();
        stats.counter("cluster.a\"b.upstream_rq_total").inc();
        stats.counter("tcp.my-proxy.downstream_cx_total").add(2);
        stats.counter("vhost.web-1.vcluster.other.upstream_rq_retry").inc();
        assertEquals(""
                + "# TYPE envoy_cluster_upstream_rq_total counter\n"
                + "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"a\\\"b\"} 1\n"
                + "# TYPE envoy_tcp_downstream_cx_total counter\n"
                + "envoy_tcp_downstream_cx_total{envoy_tcp_prefix=\"my-proxy\"} 2\n"
                + "# TYPE envoy_vhost_web_1_vcluster_other_upstream_rq_retry counter\n"
                + "envoy_vhost_web_1_vcluster_other_upstream_rq_retry{} 1\n", StatsRenderer.prometheus(stats));
    }

    @Test
    void prometheusHistogramsUseEnvoyBuckets() {
        Stats stats = new Stats();
        Histogram h = stats.histogram("cluster.backend.upstream_rq_time");
        h.record(0.2);
        h.record(3);
        h.record(3);
        h.record(7000);
        String out = StatsRenderer.prometheus(stats);
        String labels = "envoy_cluster_name=\"backend\"";
        assertTrue(out.startsWith("# TYPE envoy_cluster_upstream_rq_time histogram\n"
                + "envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"0.5\"} 1\n"
                + "envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"1\"} 1\n"
                + "envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"5\"} 3\n"), out);
        assertTrue(out.contains("envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"5000\"} 3\n"), out);
        assertTrue(out.contains("envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"10000\"} 4\n"), out);
        assertTrue(out.contains("envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"3600000\"} 4\n"), out);
        assertTrue(out.contains("envoy_cluster_upstream_rq_time_bucket{" + labels + ",le=\"+Inf\"} 4\n"), out);
        assertTrue(out.endsWith("envoy_cluster_upstream_rq_time_sum{" + labels + "} 7006.2\n"
                + "envoy_cluster_upstream_rq_time_count{" + labels + "} 4\n"), out);
    }
}

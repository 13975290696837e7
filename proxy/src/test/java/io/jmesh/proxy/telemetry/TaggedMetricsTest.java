package io.jmesh.proxy.telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.metrics.v3.StatsConfig;
import io.envoyproxy.envoy.config.metrics.v3.TagSpecifier;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.PrometheusText;

class TaggedMetricsTest {

    @Test
    void aRepeatedLabelSetIsTheSameSeriesWhateverArrayCarriesIt() {
        Stats stats = new Stats();
        TaggedMetrics.Family f = stats.tagged().counterFamily("istio_requests_total", List.of("a", "b"));
        String[] reused = {"x", "y"};
        Counter c = f.counter(reused);
        reused[1] = "z";
        Counter other = f.counter(reused);
        assertSame(c, f.counter(new String[] {"x", "y"}));
        assertSame(other, f.counter(new String[] {"x", "z"}));
        assertEquals(2, f.size());
    }

    @Test
    void theCapRefusesNewSeriesAndCountsThem() {
        Stats stats = new Stats();
        stats.tagged().maxSeriesPerMetric(2);
        TaggedMetrics.Family f = stats.tagged().counterFamily("istio_requests_total", List.of("code"));
        f.counter(new String[] {"200"}).inc();
        f.counter(new String[] {"404"}).inc();
        assertNull(f.counter(new String[] {"500"}));
        assertNull(f.counter(new String[] {"503"}));
        f.counter(new String[] {"200"}).inc(); // a known series still records
        assertEquals(2, stats.tagged().droppedSeries("istio_requests_total"));

        PrometheusText text = PrometheusText.parse(StatsRenderer.prometheus(stats));
        assertEquals("counter", text.type(TaggedMetrics.DROPPED_SERIES));
        assertEquals(List.of(new PrometheusText.Sample(TaggedMetrics.DROPPED_SERIES,
                java.util.Map.of("metric", "istio_requests_total"), 2.0)), text.samples(TaggedMetrics.DROPPED_SERIES));
        assertEquals(List.of(
                new PrometheusText.Sample("istio_requests_total", java.util.Map.of("code", "200"), 2.0),
                new PrometheusText.Sample("istio_requests_total", java.util.Map.of("code", "404"), 1.0)),
                text.samples("istio_requests_total"));
    }

    @Test
    void aNameIsOneFamily() {
        Stats stats = new Stats();
        stats.tagged().counterFamily("m", List.of("a"));
        assertThrows(IllegalArgumentException.class, () -> stats.tagged().counterFamily("m", List.of("b")));
        assertThrows(IllegalArgumentException.class,
                () -> stats.tagged().histogramFamily("m", List.of("a"), null));
    }

    @Test
    void istiosStatsTagsNameTheClusterWithItsDots() throws ConfigException {
        // Istio's bootstrap (tools/packaging/common/envoy_bootstrap.json), with use_all_default_tags: false.
        StatsConfig config = StatsConfig.newBuilder()
                .setUseAllDefaultTags(com.google.protobuf.BoolValue.of(false))
                .addStatsTags(TagSpecifier.newBuilder().setTagName("cluster_name")
                        .setRegex("^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)"))
                .addStatsTags(TagSpecifier.newBuilder().setTagName("tcp_prefix").setRegex("^tcp\\.((.*?)\\.)\\w+?$"))
                .addStatsTags(TagSpecifier.newBuilder().setTagName("response_code").setRegex("_rq(_(\\d{3}))$"))
                .addStatsTags(TagSpecifier.newBuilder().setTagName("response_code_class").setRegex("_rq(_(\\dxx))$"))
                .addStatsTags(TagSpecifier.newBuilder().setTagName("http_conn_manager_prefix")
                        .setRegex("^http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"))
                .addStatsTags(TagSpecifier.newBuilder().setTagName("listener_address")
                        .setRegex("^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"))
                .build();
        Stats stats = new Stats();
        stats.tagExtractors(TagExtractor.fromConfig(config, "stats_config"));
        stats.counter("cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_total").add(3);
        stats.counter("cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_200").add(2);
        stats.counter("cluster.xds-grpc.upstream_rq_2xx").add(4);
        stats.counter("listener.0.0.0.0_15006.downstream_cx_total").add(5);
        assertEquals(""
                + "# TYPE envoy_cluster_upstream_rq counter\n"
                + "envoy_cluster_upstream_rq{cluster_name=\"outbound|9080|v1|reviews.default.svc.cluster.local\","
                + "response_code=\"200\"} 2\n"
                + "envoy_cluster_upstream_rq{cluster_name=\"xds-grpc\",response_code_class=\"2xx\"} 4\n"
                + "# TYPE envoy_cluster_upstream_rq_total counter\n"
                + "envoy_cluster_upstream_rq_total{cluster_name=\"outbound|9080|v1|reviews.default.svc.cluster.local\"} 3\n"
                + "# TYPE envoy_listener_downstream_cx_total counter\n"
                + "envoy_listener_downstream_cx_total{listener_address=\"0.0.0.0_15006\"} 5\n",
                StatsRenderer.prometheus(stats));
        assertEquals("cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_200: 2\n"
                + "cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_total: 3\n"
                + "cluster.xds-grpc.upstream_rq_2xx: 4\n"
                + "listener.0.0.0.0_15006.downstream_cx_total: 5\n", StatsRenderer.text(stats), "/stats stays flat");
    }

    @Test
    void aBadStatsTagIsRefusedByPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> TagExtractor.fromConfig(StatsConfig.newBuilder()
                .addStatsTags(TagSpecifier.newBuilder().setTagName("x").setRegex("(")).build(), "stats_config"));
        assertEquals("stats_config.stats_tags[0].regex: ( (expected: a valid regex: Unclosed group)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> TagExtractor.fromConfig(StatsConfig.newBuilder()
                .addStatsTags(TagSpecifier.newBuilder().setTagName("x").setFixedValue("y")).build(), "stats_config"));
        assertEquals("stats_config.stats_tags[0].fixed_value: y (expected: a regex; fixed_value tags are not supported)",
                e.getMessage());
    }
}

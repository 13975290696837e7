package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.discovery.config.ConfigParser;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule {@code loadBalancer.warmup} / {@code warmupDurationSecs}, {@code connectionPool.tcp.tcpKeepalive} and
 * {@code connectionPool.http.http2KeepAlive} as Istio sends them (Envoy's {@code slow_start_config},
 * {@code upstream_connection_options.tcp_keepalive}, {@code http2_protocol_options.connection_keepalive}), and
 * that none of them is warned about any more (the jmesh proxy acts on all of them).
 */
class WarmupAndKeepaliveTest {

    private static final String MESH = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: shop}
            spec:
              hosts: [reviews.example.com]
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.1}]
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: shop}
            spec:
              host: reviews.example.com
              trafficPolicy:
                loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 60s, minimumPercent: 20, aggression: 2}}
                connectionPool:
                  tcp: {tcpKeepalive: {probes: 3, time: 7200s, interval: 75s}}
                  http: {h2UpgradePolicy: UPGRADE, http2KeepAlive: {interval: 15s, timeout: 5s}}
              subsets:
              - name: v1
                labels: {version: v1}
                trafficPolicy: {loadBalancer: {warmupDurationSecs: 30s}}
            """;

    private static Cluster cluster(Map<String, Message> clusters, String name) {
        return (Cluster) clusters.get(name);
    }

    @Test
    void warmupBecomesSlowStartAndKeepaliveUpstreamConnectionOptions() throws Exception {
        Map<String, Message> clusters = SidecarIngressTest.generate(TypeUrls.CLUSTER, MESH, Map.of());
        Cluster all = cluster(clusters, "outbound|9080||reviews.example.com");
        Cluster.SlowStartConfig ss = all.getRoundRobinLbConfig().getSlowStartConfig();
        assertEquals(60, ss.getSlowStartWindow().getSeconds());
        assertEquals(20.0, ss.getMinWeightPercent().getValue());
        assertEquals(2.0, ss.getAggression().getDefaultValue());
        var ka = all.getUpstreamConnectionOptions().getTcpKeepalive();
        assertEquals(3, ka.getKeepaliveProbes().getValue());
        assertEquals(7200, ka.getKeepaliveTime().getValue());
        assertEquals(75, ka.getKeepaliveInterval().getValue());
        var h2 = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.parseFrom(
                all.getTypedExtensionProtocolOptionsMap().get("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                        .getValue()).getExplicitHttpConfig().getHttp2ProtocolOptions().getConnectionKeepalive();
        assertEquals(15, h2.getInterval().getSeconds());
        assertEquals(5, h2.getTimeout().getSeconds());

        Cluster v1 = cluster(clusters, "outbound|9080|v1|reviews.example.com");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, v1.getLbPolicy(), "Istio's default policy");
        assertEquals(30, v1.getLeastRequestLbConfig().getSlowStartConfig().getSlowStartWindow().getSeconds());
    }

    @Test
    void noWarningAndBadValuesAreRejected() {
        ConfigParser.Result r = ConfigParser.parse(Path.of("dr.yaml"), MESH);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), r.warnings().stream().map(w -> w.message()).toList(),
                "the jmesh proxy acts on warmup and both keepalives: nothing is warned");

        ConfigParser.Result bad = ConfigParser.parse(Path.of("dr.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: r, namespace: shop}
                spec:
                  host: r
                  trafficPolicy: {loadBalancer: {warmup: {duration: 10s, minimumPercent: 150}}}
                """);
        assertEquals("spec.trafficPolicy.loadBalancer.warmup.minimumPercent: 150.0 (expected: 0..100)",
                bad.errors().get(0).reason());
        ConfigParser.Result unknown = ConfigParser.parse(Path.of("dr.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: r, namespace: shop}
                spec:
                  host: r
                  trafficPolicy: {connectionPool: {tcp: {tcpKeepalive: {probe: 3}}}}
                """);
        assertFalse(unknown.errors().isEmpty(), "a misspelled keepalive field is refused, no longer an untyped map");
        assertEquals(true, unknown.errors().get(0).reason().startsWith(
                "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probe: unknown field"), unknown.errors().toString());
    }
}

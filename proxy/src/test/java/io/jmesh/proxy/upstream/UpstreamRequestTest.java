package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;

import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.telemetry.Stats;

/** The one upstream bookkeeping of HTTP, RPC, TCP and mirror: host pick, breaker slot, outlier report, stats. */
class UpstreamRequestTest {

    private final Stats stats = new Stats();

    private UpstreamCluster cluster(int maxRequests, int maxRetries, OutlierDetection od, int hosts) throws Exception {
        final Cluster.Builder b = TestClusters.staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, new int[hosts]);
        b.getCircuitBreakersBuilder().addThresholds(Thresholds.newBuilder()
                .setMaxRequests(UInt32Value.of(maxRequests)).setMaxRetries(UInt32Value.of(maxRetries)));
        if (od != null) {
            b.setOutlierDetection(od);
        }
        return UpstreamCluster.build(b.build(), stats);
    }

    private long counter(String name) {
        return stats.counterValues().getOrDefault("cluster.c." + name, 0L);
    }

    private long gauge(String name) {
        return stats.gaugeValues().getOrDefault("cluster.c." + name, 0L);
    }

    @Test
    void startTakesOneSlotAndEndGivesItBackExactlyOnce() throws Exception {
        final UpstreamCluster c = cluster(1, 3, null, 1);
        final UpstreamRequest r = UpstreamRequest.start(c, null);
        assertTrue(r.started());
        assertNull(r.failure());
        assertEquals(1, counter("upstream_rq_total"));
        assertEquals(1, gauge("upstream_rq_active"));
        assertEquals(1, gauge("circuit_breakers.default.rq_open"));
        assertEquals(1, r.host().activeRequests());
        assertEquals(1, r.host().stats().rqTotal());

        final UpstreamRequest over = UpstreamRequest.start(c, null);
        assertSame(UpstreamRequest.OVERFLOW, over);
        assertEquals(ResponseFlag.UPSTREAM_OVERFLOW, over.failure().responseFlag());
        assertEquals(1, counter("upstream_rq_pending_overflow"));
        assertEquals(1, counter("upstream_rq_total"), "an overflowed request is not an upstream request");
        over.end(); // a no-op: it holds nothing

        r.end();
        r.end();
        r.onReset(); // after the end: no report, no second release
        assertTrue(r.ended());
        assertEquals(0, gauge("upstream_rq_active"));
        assertEquals(0, gauge("circuit_breakers.default.rq_open"));
        assertEquals(0, c.circuitBreakers().activeRequests());
        assertEquals(0, r.host().activeRequests());
        assertEquals(0, r.host().stats().rqError());

        final UpstreamRequest again = UpstreamRequest.start(c, null);
        assertTrue(again.started(), "the slot came back");
        again.end();
    }

    @Test
    void noHealthyHostIsCountedOnceAndHoldsNothing() throws Exception {
        final Cluster.Builder b = Cluster.newBuilder().setName("c").setType(Cluster.DiscoveryType.STATIC)
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName("c").addEndpoints(
                        LocalityLbEndpoints.newBuilder().addLbEndpoints(
                                TestClusters.endpoint("10.0.0.1", 80, 0, HealthStatus.UNHEALTHY))));
        final UpstreamCluster c = UpstreamCluster.build(b.build(), stats);
        final UpstreamRequest r = UpstreamRequest.start(c, null);
        assertSame(UpstreamRequest.NO_HEALTHY_UPSTREAM, r);
        assertFalse(r.started());
        assertEquals(ResponseFlag.NO_HEALTHY_UPSTREAM, r.failure().responseFlag());
        assertEquals(1, counter("upstream_cx_none_healthy"));
        assertEquals(0, counter("upstream_rq_total"));
        assertEquals(0, c.circuitBreakers().activeRequests());
    }

    @Test
    void onlyTheFirstOutcomeIsReportedToOutlierDetectionAndStats() throws Exception {
        final OutlierDetection od = OutlierDetection.newBuilder().setConsecutive5Xx(UInt32Value.of(2))
                .setEnforcingConsecutive5Xx(UInt32Value.of(0))
                .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(0)).build();
        final UpstreamCluster c = cluster(10, 3, od, 1);
        final UpstreamRequest first = UpstreamRequest.start(c, null);
        first.onResponse(503);
        first.onReset(); // the response was reset midway: still one outcome
        first.onResponse(500);
        assertEquals(0, counter("outlier_detection.ejections_detected_consecutive_5xx"),
                     "one request, one result: not yet 2 consecutive 5xx");
        assertEquals(1, counter("upstream_rq_503"));
        assertEquals(1, counter("upstream_rq_5xx"));
        assertEquals(1, first.host().stats().rqError());
        assertTrue(first.ended(), "a reset ends the request");

        final UpstreamRequest second = UpstreamRequest.start(c, null);
        second.onResponse(500);
        second.end();
        assertEquals(1, counter("outlier_detection.ejections_detected_consecutive_5xx"));

        final UpstreamRequest ok = UpstreamRequest.start(c, null);
        ok.onResponse(404);
        ok.end();
        assertEquals(1, ok.host().stats().rqSuccess(), "below 500 is a success for the host, as in Envoy");
        assertEquals(1, counter("upstream_rq_404"));
    }

    @Test
    void timeoutsAreLocalOriginGatewayFailuresUnlessAResponseCame() throws Exception {
        final OutlierDetection od = OutlierDetection.newBuilder().setConsecutiveGatewayFailure(UInt32Value.of(2))
                .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(0))
                .setEnforcingConsecutive5Xx(UInt32Value.of(0)).build();
        final UpstreamCluster c = cluster(10, 3, od, 1);
        final UpstreamRequest streaming = UpstreamRequest.start(c, null);
        streaming.onResponse(200);
        streaming.onTimeout(); // the body was slow: counted as a timeout, not reported as a failure
        final UpstreamRequest t1 = UpstreamRequest.start(c, null);
        t1.onPerTryTimeout();
        assertEquals(0, counter("outlier_detection.ejections_detected_consecutive_gateway_failure"));
        final UpstreamRequest t2 = UpstreamRequest.start(c, null);
        t2.onTimeout();
        t2.onTimeout();
        assertEquals(1, counter("outlier_detection.ejections_detected_consecutive_gateway_failure"));
        assertEquals(2, counter("upstream_rq_timeout"));
        assertEquals(1, counter("upstream_rq_per_try_timeout"));
        assertEquals(3, t2.host().stats().rqTimeout());
        assertEquals(0, gauge("upstream_rq_active"));
        assertEquals(0, c.circuitBreakers().activeRequests());
    }

    @Test
    void connectSuccessClearsConsecutiveLocalOriginFailures() throws Exception {
        final OutlierDetection od = OutlierDetection.newBuilder().setSplitExternalLocalOriginErrors(true)
                .setConsecutiveLocalOriginFailure(UInt32Value.of(2))
                .setEnforcingConsecutiveLocalOriginFailure(UInt32Value.of(0)).build();
        final UpstreamCluster c = cluster(10, 3, od, 1);
        UpstreamRequest.start(c, null).onConnectFailure();
        final UpstreamRequest connected = UpstreamRequest.start(c, null);
        connected.onConnected();
        UpstreamRequest.start(c, null).onConnectFailure();
        assertEquals(0, counter("outlier_detection.ejections_detected_consecutive_local_origin_failure"));
        UpstreamRequest.start(c, null).onConnectFailure();
        assertEquals(1, counter("outlier_detection.ejections_detected_consecutive_local_origin_failure"));
        assertEquals(1, gauge("upstream_rq_active"), "the connected request holds its slot until it ends");
        connected.onReset(); // the proxied connection closed: ends it, reports nothing more
        assertEquals(0, gauge("upstream_rq_active"));
        assertEquals(0, connected.host().activeRequests());
    }

    @Test
    void anEjectedHostAndHostsTheCallerRejectsArePickedAround() throws Exception {
        final UpstreamCluster c = cluster(100, 3, null, 3);
        final Host ejected = c.hosts().get(0);
        final Host failed = c.hosts().get(1);
        ejected.outlierState().ejected = true; // ejected after the balancer was built
        final LoadBalancerContext avoidFailed = new LoadBalancerContext() {
            @Override
            public OptionalLong hashKey() {
                return OptionalLong.empty();
            }

            @Override
            public boolean shouldSelectAnotherHost(Host h) {
                return h == failed;
            }
        };
        for (int i = 0; i < 30; i++) {
            final UpstreamRequest r = UpstreamRequest.start(c, avoidFailed);
            assertSame(c.hosts().get(2), r.host());
            r.end();
        }
        final Set<Host> seen = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            final UpstreamRequest r = UpstreamRequest.start(c, null);
            seen.add(r.host());
            r.end();
        }
        assertEquals(Set.of(failed, c.hosts().get(2)), seen);
    }

    @Test
    void retrySlotsAreTakenAndCounted() throws Exception {
        final UpstreamCluster c = cluster(10, 1, null, 1);
        assertTrue(UpstreamRequest.tryAcquireRetry(c));
        assertFalse(UpstreamRequest.tryAcquireRetry(c));
        assertEquals(1, counter("upstream_rq_retry"));
        assertEquals(1, counter("upstream_rq_retry_overflow"));
        assertEquals(1, gauge("circuit_breakers.default.rq_retry_open"));
        UpstreamRequest.releaseRetry(c);
        assertEquals(0, gauge("circuit_breakers.default.rq_retry_open"));
        assertTrue(UpstreamRequest.tryAcquireRetry(c));
        UpstreamRequest.releaseRetry(c);
    }
}

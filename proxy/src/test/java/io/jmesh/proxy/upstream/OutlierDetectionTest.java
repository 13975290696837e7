package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Cluster {@code outlier_detection} through a real proxy: ejection, traffic to the others, return. */
class OutlierDetectionTest {

    /** Every path to {@code backend}: two hosts, with this {@code outlier_detection}. */
    static Bootstraps config(int b1, int b2, String outlierDetection) {
        return Bootstraps.http()
                .route("/", "backend")
                .cluster("backend", b1, b2)
                .outlierDetection("backend", outlierDetection);
    }

    /** Sends until {@code b1}'s three consecutive 5xx are detected (counted as the response is reported). */
    private static void failUntilDetected(ProxyFixture proxy) throws Exception {
        for (int i = 0; i < 20 && proxy.counter("cluster.backend.outlier_detection.ejections_detected_consecutive_5xx") == 0; i++) {
            Curl.run(proxy.url("/x"));
        }
    }

    @Test
    void consecutive5xxEjectsTheHostWhichThenGetsNoTraffic() throws Exception {
        try (TestBackend b1 = TestBackend.start("b1");
             TestBackend b2 = TestBackend.start("b2");
             ProxyFixture proxy = config(b1.port(), b2.port(),
                     "consecutive_5xx: 3, interval: 0.05s, base_ejection_time: 600s, max_ejection_percent: 50").start(2)) {
            b1.failNext.set(1_000_000);
            String admin = "http://127.0.0.1:" + proxy.adminPort();
            failUntilDetected(proxy);
            // The ejection follows the detection on the detector's timer thread.
            Poll.until(() -> proxy.gauge("cluster.backend.outlier_detection.ejections_active") == 1, "b1 is ejected");
            assertEquals(1, proxy.counter("cluster.backend.outlier_detection.ejections_enforced_total"));
            assertEquals(3, b1.requests.get(), "ejected after exactly 3 consecutive 5xx");
            String clusters = Curl.run(admin + "/clusters").body;
            assertTrue(clusters.contains("backend::127.0.0.1:" + b1.port() + "::health_flags::/failed_outlier_check"),
                    clusters);
            assertTrue(clusters.contains("backend::127.0.0.1:" + b2.port() + "::health_flags::healthy"), clusters);
            // Ejected for 10 minutes, far longer than this test: every request goes to b2.
            for (int i = 0; i < 6; i++) {
                Curl.Result r = Curl.run(proxy.url("/x"));
                assertEquals(200, r.status);
                assertEquals("b2", r.header("x-backend"));
            }
            assertEquals(3, b1.requests.get(), "the ejected host got no request");
            assertEquals(1, proxy.gauge("cluster.backend.outlier_detection.ejections_active"));
        }
    }

    @Test
    void anEjectedHostReturnsAfterBaseEjectionTime() throws Exception {
        try (TestBackend b1 = TestBackend.start("b1");
             TestBackend b2 = TestBackend.start("b2");
             ProxyFixture proxy = config(b1.port(), b2.port(),
                     "consecutive_5xx: 3, interval: 0.05s, base_ejection_time: 0.3s, max_ejection_percent: 50").start(2)) {
            b1.failNext.set(1_000_000);
            String admin = "http://127.0.0.1:" + proxy.adminPort();
            failUntilDetected(proxy);
            // A counter, not the gauge: the short ejection may be over before a poll would see it.
            Poll.until(() -> proxy.counter("cluster.backend.outlier_detection.ejections_enforced_total") == 1,
                    "b1 is ejected");
            b1.failNext.set(0);
            Poll.until(() -> proxy.gauge("cluster.backend.outlier_detection.ejections_active") == 0,
                    "un-ejected after base_ejection_time");
            int b1Seen = b1.requests.get();
            for (int i = 0; i < 20 && b1.requests.get() == b1Seen; i++) {
                assertEquals(200, Curl.run(proxy.url("/x")).status);
            }
            assertTrue(b1.requests.get() > b1Seen, "the host takes traffic again");
            assertTrue(Curl.run(admin + "/clusters").body
                    .contains("backend::127.0.0.1:" + b1.port() + "::health_flags::healthy"));
        }
    }

    @Test
    void connectFailuresAreGatewayFailures() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        try (TestBackend live = TestBackend.start("live");
             ProxyFixture proxy = config(dead, live.port(),
                     "consecutive_5xx: 100, consecutive_gateway_failure: 2, always_eject_one_host: true, "
                             + "enforcing_consecutive_gateway_failure: 100, interval: 10s, base_ejection_time: 60s").start(2)) {
            for (int i = 0; i < 20
                    && proxy.counter("cluster.backend.outlier_detection.ejections_detected_consecutive_gateway_failure") == 0; i++) {
                Curl.run(proxy.url("/x"));
            }
            Poll.until(() -> proxy.gauge("cluster.backend.outlier_detection.ejections_active") == 1, "the dead host is ejected");
            assertEquals(1, proxy.counter("cluster.backend.outlier_detection.ejections_enforced_consecutive_gateway_failure"));
            assertEquals(0, proxy.counter("cluster.backend.outlier_detection.ejections_enforced_consecutive_5xx"));
            for (int i = 0; i < 6; i++) {
                assertEquals(200, Curl.run(proxy.url("/x")).status, "only the live host is picked");
            }
        }
    }
}

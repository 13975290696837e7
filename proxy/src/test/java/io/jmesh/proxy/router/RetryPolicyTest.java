package io.jmesh.proxy.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;

import io.jmesh.proxy.config.ConfigException;

class RetryPolicyTest {

    private static io.envoyproxy.envoy.config.route.v3.RetryPolicy.Builder proto(String retryOn) {
        return io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder().setRetryOn(retryOn);
    }

    private static Duration ms(long millis) {
        return Duration.newBuilder().setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000).build();
    }

    @Test
    void none() {
        assertEquals(0, RetryPolicy.NONE.numRetries());
        assertFalse(RetryPolicy.NONE.retriableStatus(503));
        assertFalse(RetryPolicy.NONE.retryOnConnectFailure());
    }

    @Test
    void defaultsAndConditions() throws ConfigException {
        final RetryPolicy p = RetryPolicy.from(proto("connect-failure, refused-stream,reset").build());
        assertEquals(1, p.numRetries());
        assertEquals(0, p.perTryTimeoutMillis());
        assertTrue(p.retryOnConnectFailure());
        assertTrue(p.retryOnRefusedStream());
        assertTrue(p.retryOnReset());
        assertFalse(p.retryOn5xx());
        assertFalse(p.retryOnGatewayError());
        assertFalse(p.retryOnRetriable4xx());
        assertFalse(p.retriableStatus(503));

        final RetryPolicy q = RetryPolicy.from(proto("gateway-error,retriable-4xx,unavailable")
                                                       .setNumRetries(UInt32Value.of(3))
                                                       .setPerTryTimeout(ms(1500)).build());
        assertEquals(3, q.numRetries());
        assertEquals(1500, q.perTryTimeoutMillis());
        assertTrue(q.retriableStatus(502));
        assertTrue(q.retriableStatus(503));
        assertTrue(q.retriableStatus(504));
        assertFalse(q.retriableStatus(500));
        assertTrue(q.retriableStatus(409));
        assertFalse(q.retriableStatus(404));
        assertEquals(0, RetryPolicy.from(proto("5xx").setNumRetries(UInt32Value.of(0)).build()).numRetries());
    }

    @Test
    void fiveXxAndRetriableStatusCodes() throws ConfigException {
        final RetryPolicy p = RetryPolicy.from(proto("5xx").addRetriableStatusCodes(418).build());
        assertTrue(p.retriableStatus(500));
        assertTrue(p.retriableStatus(599));
        assertFalse(p.retriableStatus(499));
        // As in Envoy, the codes apply only with the retriable-status-codes condition.
        assertFalse(p.retriableStatus(418));
        final RetryPolicy q = RetryPolicy.from(proto("retriable-status-codes").addRetriableStatusCodes(418)
                                                                              .addRetriableStatusCodes(429).build());
        assertTrue(q.retriableStatus(418));
        assertTrue(q.retriableStatus(429));
        assertFalse(q.retriableStatus(500));
    }

    @Test
    void backoffIsJitteredExponentialAndCapped() throws ConfigException {
        final RetryPolicy p = RetryPolicy.from(proto("5xx").build());
        long max1 = 0;
        long max3 = 0;
        long max20 = 0;
        for (int i = 0; i < 2000; i++) {
            final long b1 = p.backoffMillis(1);
            final long b3 = p.backoffMillis(3);
            final long b20 = p.backoffMillis(20);
            assertTrue(b1 >= 0 && b1 < 25, "b1=" + b1);
            assertTrue(b3 >= 0 && b3 < 175, "b3=" + b3);
            assertTrue(b20 >= 0 && b20 < 250, "b20=" + b20);
            max1 = Math.max(max1, b1);
            max3 = Math.max(max3, b3);
            max20 = Math.max(max20, b20);
        }
        // Jitter spans the range (probability of failing is astronomically small).
        assertTrue(max1 >= 20, "max1=" + max1);
        assertTrue(max3 >= 140, "max3=" + max3);
        assertTrue(max20 >= 200, "max20=" + max20);

        final RetryPolicy custom = RetryPolicy.from(proto("5xx").setRetryBackOff(
                io.envoyproxy.envoy.config.route.v3.RetryPolicy.RetryBackOff.newBuilder()
                        .setBaseInterval(ms(100)).setMaxInterval(ms(150))).build());
        for (int i = 0; i < 1000; i++) {
            assertTrue(custom.backoffMillis(1) < 100);
            assertTrue(custom.backoffMillis(5) < 150);
        }
        assertThrows(IllegalArgumentException.class, () -> p.backoffMillis(0));
    }

    @Test
    void errors() {
        assertEquals("retry_on: 5xx,nope (expected: a comma-separated list of Envoy retry conditions, unknown: nope)",
                     assertThrows(ConfigException.class, () -> RetryPolicy.from(proto("5xx,nope").build()))
                             .getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> RetryPolicy.from(proto("5xx").setRetryBackOff(
                io.envoyproxy.envoy.config.route.v3.RetryPolicy.RetryBackOff.newBuilder()
                        .setMaxInterval(ms(10))).build())).getMessage()
                           .startsWith("retry_back_off.base_interval: null"));
        assertTrue(assertThrows(ConfigException.class, () -> RetryPolicy.from(proto("5xx").addRetriableStatusCodes(700)
                                                                                           .build())).getMessage()
                           .startsWith("retriable_status_codes[0]: 700"));
    }
}

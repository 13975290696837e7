package io.jmesh.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.UInt64Value;
import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.jmesh.proxy.testing.Poll;

/** {@code jmesh ratelimit} over real gRPC: envoyproxy/ratelimit's config and fixed windows, in memory and in Redis. */
class RateLimitServiceTest {

    static final String CONFIG = """
            domain: edge
            descriptors:
              - key: remote_address
                rate_limit: { unit: minute, requests_per_unit: 2 }
              - key: path
                value: /free
                unlimited: true
              - key: path
                value: /shadow
                shadow_mode: true
                rate_limit: { unit: second, requests_per_unit: 1 }
              - key: user
                value: alice
                detailed_metric: true
                descriptors:
                  - key: plan
                    value: gold
                    rate_limit: { name: gold, unit: hour, requests_per_unit: 3 }
            """;

    private final AtomicLong now = new AtomicLong(1_700_000_000L - 1_700_000_000L % 3600 + 30);

    static RateLimitRequest request(String domain, String... kv) {
        RateLimitDescriptor.Builder d = RateLimitDescriptor.newBuilder();
        for (int i = 0; i < kv.length; i += 2) {
            d.addEntriesBuilder().setKey(kv[i]).setValue(kv[i + 1]);
        }
        return RateLimitRequest.newBuilder().setDomain(domain).addDescriptors(d).build();
    }

    static RateLimitServiceGrpc.RateLimitServiceBlockingStub stub(ManagedChannel ch) {
        return RateLimitServiceGrpc.newBlockingStub(ch);
    }

    @Test
    void fixedWindowsInMemory(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("config.yaml"), CONFIG);
        try (RateLimitServer server = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0)
                .epochSeconds(now::get).responseHeaders(true))) {
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            try {
                var rls = stub(ch);
                RateLimitResponse first = rls.shouldRateLimit(request("edge", "remote_address", "10.0.0.1"));
                assertEquals(RateLimitResponse.Code.OK, first.getOverallCode());
                RateLimitResponse.DescriptorStatus s = first.getStatuses(0);
                assertEquals(2, s.getCurrentLimit().getRequestsPerUnit());
                assertEquals(RateLimitResponse.RateLimit.Unit.MINUTE, s.getCurrentLimit().getUnit());
                assertEquals(1, s.getLimitRemaining());
                assertEquals(30, Durations.toSeconds(s.getDurationUntilReset()), "the minute's window ends at :00");
                assertEquals("RateLimit-Remaining", first.getResponseHeadersToAdd(1).getKey());
                assertEquals(RateLimitResponse.Code.OK,
                        rls.shouldRateLimit(request("edge", "remote_address", "10.0.0.1")).getOverallCode());
                RateLimitResponse third = rls.shouldRateLimit(request("edge", "remote_address", "10.0.0.1"));
                assertEquals(RateLimitResponse.Code.OVER_LIMIT, third.getOverallCode());
                assertEquals(0, third.getStatuses(0).getLimitRemaining());
                assertEquals(RateLimitResponse.Code.OK,
                        rls.shouldRateLimit(request("edge", "remote_address", "10.0.0.2")).getOverallCode(),
                        "each value of a wildcard key counts alone");
                now.addAndGet(30);
                assertEquals(RateLimitResponse.Code.OK,
                        rls.shouldRateLimit(request("edge", "remote_address", "10.0.0.1")).getOverallCode(),
                        "a new window");

                for (int i = 0; i < 5; i++) {
                    assertEquals(RateLimitResponse.Code.OK,
                            rls.shouldRateLimit(request("edge", "path", "/free")).getOverallCode());
                    assertEquals(RateLimitResponse.Code.OK,
                            rls.shouldRateLimit(request("edge", "path", "/shadow")).getOverallCode(), "shadow mode");
                }
                RateLimitResponse nested = rls.shouldRateLimit(RateLimitRequest.newBuilder().setDomain("edge")
                        .setHitsAddend(3).addDescriptors(request("edge", "user", "alice", "plan", "gold")
                                .getDescriptors(0)).build());
                assertEquals(RateLimitResponse.Code.OK, nested.getOverallCode(), "hits_addend 3 of 3");
                assertEquals("gold", nested.getStatuses(0).getCurrentLimit().getName());
                assertEquals(0, nested.getStatuses(0).getLimitRemaining());
                RateLimitRequest one = RateLimitRequest.newBuilder().setDomain("edge").addDescriptors(
                        request("edge", "user", "alice", "plan", "gold").getDescriptors(0).toBuilder()
                                .setHitsAddend(UInt64Value.of(1))).build();
                assertEquals(RateLimitResponse.Code.OVER_LIMIT, rls.shouldRateLimit(one).getOverallCode());
                RateLimitResponse none = rls.shouldRateLimit(request("edge", "user", "bob"));
                assertEquals(RateLimitResponse.Code.OK, none.getOverallCode());
                assertFalse(none.getStatuses(0).hasCurrentLimit(), "no matching descriptor: no limit");
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> rls.shouldRateLimit(RateLimitRequest.newBuilder().setDomain("edge").build()));
                assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Test
    void reloadsAChangedConfigAndKeepsTheOldOneWhenTheNewOneIsBad(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("config.yaml"), CONFIG);
        try (RateLimitServer server = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0)
                .reloadMillis(50).epochSeconds(now::get))) {
            replace(cfg, CONFIG.replace("domain: edge", "domain: inner"));
            Poll.until(() -> server.reloads() == 1, "config reloaded");
            assertEquals(java.util.Set.of("inner"), server.config().domains());
            replace(cfg, "domain: inner\ndescriptors:\n  - key: x\n    rate_limit: { unit: fortnight,"
                    + " requests_per_unit: 1 }\n");
            String expected = cfg + ": descriptors[0].rate_limit.unit: \"fortnight\" (expected: second, minute, hour,"
                    + " day, week, month or year)";
            Poll.until(() -> expected.equals(server.lastError()), "bad config refused: " + expected);
            assertEquals(1, server.reloads());
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            try {
                var rls = stub(ch);
                rls.shouldRateLimit(request("inner", "remote_address", "1"));
                rls.shouldRateLimit(request("inner", "remote_address", "1"));
                assertEquals(RateLimitResponse.Code.OVER_LIMIT,
                        rls.shouldRateLimit(request("inner", "remote_address", "1")).getOverallCode(),
                        "the last good config serves");
            } finally {
                ch.shutdownNow();
            }
        }
    }

    /** Replaces {@code file} at once (write beside it, then rename), as a config tool or a ConfigMap update does. */
    private static void replace(Path file, String content) throws java.io.IOException {
        Path tmp = Files.writeString(file.resolveSibling(file.getFileName() + ".tmp"), content);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void badConfigAtStartIsAnErrorWithThePath(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "domain: d\ndescriptors:\n  - key: a\n    rate_limt: {}\n");
        RateLimitConfig.ConfigError e = assertThrows(RateLimitConfig.ConfigError.class,
                () -> RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0)));
        assertTrue(e.getMessage().startsWith(cfg + ": descriptors[0].rate_limt: unknown field"), e.getMessage());
    }

    @Test
    void replicasSharingRedisCountTogether(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("config.yaml"), CONFIG);
        try (RedisProcess redis = RedisProcess.start();
             RateLimitServer a = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0).redis(redis.hostPort())
                     .epochSeconds(now::get));
             RateLimitServer b = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0).redis(redis.hostPort())
                     .epochSeconds(now::get))) {
            ManagedChannel ca = ManagedChannelBuilder.forAddress("127.0.0.1", a.port()).usePlaintext().build();
            ManagedChannel cb = ManagedChannelBuilder.forAddress("127.0.0.1", b.port()).usePlaintext().build();
            try {
                assertEquals(RateLimitResponse.Code.OK,
                        stub(ca).shouldRateLimit(request("edge", "remote_address", "10.0.0.9")).getOverallCode());
                assertEquals(RateLimitResponse.Code.OK,
                        stub(cb).shouldRateLimit(request("edge", "remote_address", "10.0.0.9")).getOverallCode());
                assertEquals(RateLimitResponse.Code.OVER_LIMIT,
                        stub(ca).shouldRateLimit(request("edge", "remote_address", "10.0.0.9")).getOverallCode(),
                        "the third hit across both replicas");
                long window = now.get() / 60 * 60;
                try (var j = redis.client()) {
                    assertEquals("3", j.get("edge_remote_address_10.0.0.9_" + window), "envoyproxy/ratelimit's key");
                    long ttl = j.ttl("edge_remote_address_10.0.0.9_" + window);
                    assertTrue(ttl > 0 && ttl <= 60, "expires with its window: " + ttl);
                }
            } finally {
                ca.shutdownNow();
                cb.shutdownNow();
            }
        }
    }

    @Test
    void redisDownIsUnavailable(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("config.yaml"), CONFIG);
        int dead;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        try (RateLimitServer server = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0)
                .redis("127.0.0.1:" + dead).epochSeconds(now::get))) {
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            try {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> stub(ch).shouldRateLimit(request("edge", "remote_address", "10.0.0.1")));
                assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
                assertEquals(RateLimitResponse.Code.OK,
                        stub(ch).shouldRateLimit(request("edge", "path", "/free")).getOverallCode(),
                        "unlimited descriptors need no counter");
            } finally {
                ch.shutdownNow();
            }
        }
    }
}

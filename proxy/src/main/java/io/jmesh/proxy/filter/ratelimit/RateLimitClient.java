package io.jmesh.proxy.filter.ratelimit;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.ratelimit.v3.RateLimitServiceConfig;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.LoadBalancerContext;
import io.jmesh.proxy.upstream.UpstreamCluster;

/**
 * A client of {@code envoy.service.ratelimit.v3.RateLimitService} in the cluster named by
 * {@code rate_limit_service.grpc_service.envoy_grpc.cluster_name}: each call picks a host with the cluster's load
 * balancer (through the cluster manager that serves now) and sends {@code ShouldRateLimit} on a plaintext HTTP/2
 * gRPC channel to it, one channel per host address kept for the life of the process. Thread-safe.
 */
public final class RateLimitClient {

    private static final Logger logger = LoggerFactory.getLogger(RateLimitClient.class);
    private static final Map<String, ManagedChannel> CHANNELS = new ConcurrentHashMap<>();

    /** A call in flight; {@link #cancel()} abandons it (its callback then never runs). */
    public interface Call {
        void cancel();
    }

    private final String cluster;

    private RateLimitClient(String cluster) {
        this.cluster = cluster;
    }

    /** The RLS cluster's name. */
    public String cluster() {
        return cluster;
    }

    /** Validates {@code rate_limit_service}; {@code path} names it in errors. */
    public static RateLimitClient from(RateLimitServiceConfig c, String path) throws ConfigException {
        if (!c.hasGrpcService()) {
            throw new ConfigException(path + ".grpc_service: unset (expected: a gRPC service)");
        }
        if (c.getTransportApiVersionValue() != 0 && c.getTransportApiVersionValue() != 2) {
            throw new ConfigException(path + ".transport_api_version: " + c.getTransportApiVersion()
                    + " (expected: V3)");
        }
        GrpcService g = c.getGrpcService();
        if (!g.hasEnvoyGrpc()) {
            throw new ConfigException(path + ".grpc_service: " + g.getTargetSpecifierCase()
                    + " (expected: envoy_grpc; google_grpc is not supported)");
        }
        String name = g.getEnvoyGrpc().getClusterName();
        if (name.isEmpty()) {
            throw new ConfigException(path + ".grpc_service.envoy_grpc.cluster_name: \"\" (expected: a cluster)");
        }
        return new RateLimitClient(name);
    }

    /** A client of {@code cluster} (tests, RPC and network filters). */
    public static RateLimitClient of(String cluster) {
        return new RateLimitClient(cluster);
    }

    /** The request for {@code descriptors} in {@code domain}. */
    public static RateLimitRequest request(String domain, List<List<RateLimitPolicy.Entry>> descriptors,
                                           int hitsAddend) {
        RateLimitRequest.Builder b = RateLimitRequest.newBuilder().setDomain(domain).setHitsAddend(hitsAddend);
        for (List<RateLimitPolicy.Entry> d : descriptors) {
            RateLimitDescriptor.Builder db = b.addDescriptorsBuilder();
            for (RateLimitPolicy.Entry e : d) {
                db.addEntriesBuilder().setKey(e.key()).setValue(e.value());
            }
        }
        return b.build();
    }

    /**
     * Sends {@code request} with a deadline of {@code timeoutMillis} (0: none); {@code done} gets the response or
     * the failure (no cluster, no healthy host, a gRPC error, the deadline), on a gRPC thread.
     */
    public Call call(Supplier<ClusterManager> clusters, RateLimitRequest request, long timeoutMillis,
                     BiConsumer<RateLimitResponse, Throwable> done) {
        ClusterManager cm = clusters.get();
        UpstreamCluster c = cm == null ? null : cm.get(cluster);
        if (c == null) {
            done.accept(null, new IllegalStateException("rate limit cluster " + cluster + " not found"));
            return () -> {};
        }
        Host host = c.chooseHost(LoadBalancerContext.NONE);
        if (host == null) {
            done.accept(null, new IllegalStateException("no healthy host in rate limit cluster " + cluster));
            return () -> {};
        }
        ManagedChannel ch = CHANNELS.computeIfAbsent(host.address().getHostString() + ":" + host.address().getPort(),
                t -> ManagedChannelBuilder.forTarget(t).usePlaintext().build());
        CallOptions opts = CallOptions.DEFAULT;
        if (timeoutMillis > 0) {
            opts = opts.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS);
        }
        ClientCall<RateLimitRequest, RateLimitResponse> call =
                ch.newCall(RateLimitServiceGrpc.getShouldRateLimitMethod(), opts);
        ClientCalls.asyncUnaryCall(call, request, new StreamObserver<>() {
            @Override
            public void onNext(RateLimitResponse value) {
                done.accept(value, null);
            }

            @Override
            public void onError(Throwable t) {
                if (!(t instanceof io.grpc.StatusRuntimeException e && e.getStatus().getCode()
                        == io.grpc.Status.Code.CANCELLED)) {
                    logger.debug("rate limit call to {} ({}) failed: {}", cluster, host, t.toString());
                }
                done.accept(null, t);
            }

            @Override
            public void onCompleted() {}
        });
        return () -> call.cancel("stream ended", null);
    }
}

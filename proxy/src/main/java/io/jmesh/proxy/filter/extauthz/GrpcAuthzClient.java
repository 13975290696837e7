package io.jmesh.proxy.filter.extauthz;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;

/**
 * {@code envoy.service.auth.v3.Authorization/Check} over gRPC-Java to a host the cluster's load balancer picks per
 * call (plaintext HTTP/2). Channels are shared per host address across configs and idle out after five minutes.
 * Thread-safe.
 */
final class GrpcAuthzClient implements AuthzClient {

    private static final Map<InetSocketAddress, ManagedChannel> CHANNELS = new ConcurrentHashMap<>();

    private final Supplier<ClusterManager> clusters;
    private final String cluster;

    GrpcAuthzClient(Supplier<ClusterManager> clusters, String cluster) {
        this.clusters = clusters;
        this.cluster = cluster;
    }

    private static ManagedChannel channel(InetSocketAddress address) {
        return CHANNELS.computeIfAbsent(address, a -> Grpc.newChannelBuilderForAddress(
                        a.getHostString(), a.getPort(), InsecureChannelCredentials.create())
                .idleTimeout(5, TimeUnit.MINUTES)
                .build());
    }

    @Override
    public void check(CheckRequest request, long timeoutMillis, Consumer<AuthzResult> done) {
        ClusterManager cm = clusters.get();
        UpstreamCluster c = cm == null ? null : cm.get(cluster);
        if (c == null) {
            done.accept(AuthzResult.error("cluster " + cluster + " not found"));
            return;
        }
        Host host = c.chooseHost(null);
        if (host == null) {
            done.accept(AuthzResult.error("no healthy upstream in cluster " + cluster));
            return;
        }
        AuthorizationGrpc.AuthorizationStub stub = AuthorizationGrpc.newStub(channel(host.address()));
        if (timeoutMillis > 0) {
            stub = stub.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS);
        }
        stub.check(request, new StreamObserver<>() {
            private boolean answered;

            @Override
            public void onNext(CheckResponse value) {
                answered = true;
                done.accept(toResult(value));
            }

            @Override
            public void onError(Throwable t) {
                if (!answered) {
                    answered = true;
                    done.accept(AuthzResult.error(String.valueOf(io.grpc.Status.fromThrowable(t))));
                }
            }

            @Override
            public void onCompleted() {
                if (!answered) {
                    answered = true;
                    done.accept(AuthzResult.error("no CheckResponse"));
                }
            }
        });
    }

    /** Maps a {@code CheckResponse}: status code 0 is OK, any other is DENIED (Envoy's gRPC client). */
    static AuthzResult toResult(CheckResponse r) {
        boolean ok = r.getStatus().getCode() == 0;
        if (ok) {
            var o = r.getOkResponse();
            return new AuthzResult(AuthzResult.Status.OK, 200, actions(o.getHeadersList()), o.getHeadersToRemoveList(),
                    actions(o.getResponseHeadersToAddList()), "", r.hasDynamicMetadata() ? r.getDynamicMetadata() : null,
                    null);
        }
        var d = r.getDeniedResponse();
        int code = d.hasStatus() && d.getStatus().getCodeValue() >= 100 ? d.getStatus().getCodeValue() : 403;
        return new AuthzResult(AuthzResult.Status.DENIED, code, List.of(), List.of(), actions(d.getHeadersList()),
                d.getBody(), r.hasDynamicMetadata() ? r.getDynamicMetadata() : null, null);
    }

    @SuppressWarnings("deprecation") // append: deprecated for append_action, still what services send
    private static List<AuthzResult.HeaderAction> actions(List<HeaderValueOption> options) {
        List<AuthzResult.HeaderAction> out = new ArrayList<>(options.size());
        for (HeaderValueOption o : options) {
            // In ext_authz answers an unset append means "override" (external_auth.proto).
            boolean append = o.hasAppend() && o.getAppend().getValue();
            out.add(new AuthzResult.HeaderAction(o.getHeader().getKey().toLowerCase(java.util.Locale.ROOT),
                    o.getHeader().getValue(), append));
        }
        return out;
    }
}

package io.jmesh.proxy.filter.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

import com.fasterxml.jackson.databind.JsonNode;

import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.network.rpc.RpcFilter;
import io.jmesh.proxy.network.rpc.RpcFilterCallbacks;
import io.jmesh.proxy.network.rpc.RpcFilterFactory;
import io.jmesh.proxy.network.rpc.RpcRequest;
import io.jmesh.proxy.protocol.rpc.RpcStatus;
import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.telemetry.Stats;

/**
 * Rate limits for Bolt (SOFARPC) and Dubbo calls in an rpc_proxy's {@code filters}, configured with Envoy's HTTP
 * messages so that nothing new has to be learnt:
 * <ul>
 * <li>{@code jmesh.filters.rpc.local_ratelimit}: a {@code envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit}
 * (token bucket, descriptors, {@code filter_enabled}/{@code filter_enforced}, {@code rate_limits} or the route's,
 * per connection); stats {@code <stat_prefix>.rpc_local_rate_limit.enabled|enforced|rate_limited|ok}.</li>
 * <li>{@code jmesh.filters.rpc.ratelimit}: a {@code envoy.extensions.filters.http.ratelimit.v3.RateLimit} (domain,
 * service, timeout, failure_mode_deny); descriptors from the RPC route's {@code rate_limits}; stats
 * {@code rpc.<stat_prefix>.ratelimit.ok|over_limit|error|failure_mode_allowed}.</li>
 * </ul>
 * Descriptor actions read the call: {@code request_headers} with {@code :authority} (the service / interface),
 * {@code :method} (the method), {@code :path} ({@code /service/method}) or any Bolt header / Dubbo attachment;
 * {@code generic_key}, {@code header_value_match}, {@code remote_address}, {@code source_cluster}.
 * {@code destination_cluster} produces nothing (the filters run before routing picks a cluster). A limited call is
 * answered in its protocol's overload form ({@link RpcStatus#OVERLOADED}: Bolt {@code SERVER_THREADPOOL_BUSY},
 * Dubbo 100 {@code SERVER_THREADPOOL_EXHAUSTED_ERROR}), so the caller sees its usual "server busy" exception.
 */
public final class RpcRateLimitFilterFactories {

    private RpcRateLimitFilterFactories() {}

    /** The call as descriptor actions read it: pseudo-headers for service, method and path, then its headers. */
    static RequestAttributes attributes(RpcRequest r) {
        return new RequestAttributes() {
            @Override
            public String protocol() {
                return r.protocol();
            }

            @Override
            public String host() {
                return r.host();
            }

            @Override
            public String method() {
                return r.method();
            }

            @Override
            public String path() {
                return r.path();
            }

            @Override
            public String header(String name) {
                return switch (name) {
                    case ":authority" -> r.host();
                    case ":method" -> r.method();
                    case ":path" -> r.path();
                    default -> r.header(name);
                };
            }

            @Override
            public void forEachHeader(BiConsumer<String, String> action) {
                r.forEachHeader(action);
            }

            @Override
            public ConnectionInfo connection() {
                return r.connection();
            }
        };
    }

    private static RateLimitPolicy.Context context() {
        return new RateLimitPolicy.Context() {
            @Override
            public String localServiceCluster() {
                return Descriptors.localServiceCluster();
            }

            @Override
            public String destinationCluster() {
                return null;
            }
        };
    }

    static List<List<RateLimitPolicy.Entry>> descriptors(List<RateLimitPolicy> own, int stage,
                                                         Descriptors.VhRateLimits vh, RpcRequest request,
                                                         RpcFilterCallbacks callbacks) {
        RequestAttributes attrs = attributes(request);
        if (!own.isEmpty()) {
            List<List<RateLimitPolicy.Entry>> out = new ArrayList<>();
            Descriptors.add(own, stage, attrs, context(), out);
            return out;
        }
        return Descriptors.of(callbacks.route(), stage, vh, attrs, null);
    }

    /** {@code jmesh.filters.rpc.local_ratelimit}. */
    public static final class Local implements RpcFilterFactory {

        /** The filter's name. */
        public static final String NAME = "jmesh.filters.rpc.local_ratelimit";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String typeUrl() {
            return EnvoyTypes.typeUrl(LocalRateLimit.getDescriptor());
        }

        @Override
        public PerCall create(JsonNode config, Context context) throws ConfigException {
            LocalRateLimitSettings s = LocalRateLimitSettings.from(
                    EnvoyTypes.PARSER.parse(config, LocalRateLimit.newBuilder()).build(), System::nanoTime);
            Stats stats = context.stats();
            String p = s.statPrefix + ".rpc_local_rate_limit.";
            var enabled = stats.counter(p + "enabled");
            var enforced = stats.counter(p + "enforced");
            var limited = stats.counter(p + "rate_limited");
            var ok = stats.counter(p + "ok");
            return request -> new RpcFilter() {
                @Override
                public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
                    if (!FractionalPercents.roll(s.enabledNumerator, s.enabledDenominator)) {
                        return Status.CONTINUE;
                    }
                    enabled.inc();
                    LocalRateLimiter limiter = s.limiter(callbacks.connection());
                    List<List<RateLimitPolicy.Entry>> d = limiter.hasDescriptors()
                            ? descriptors(s.ownRateLimits, s.stage, s.vhRateLimits, request, callbacks) : List.of();
                    if (limiter.check(d).allowed()) {
                        ok.inc();
                        return Status.CONTINUE;
                    }
                    limited.inc();
                    if (!FractionalPercents.roll(s.enforcedNumerator, s.enforcedDenominator)) {
                        return Status.CONTINUE;
                    }
                    enforced.inc();
                    callbacks.streamInfo().addResponseFlag(ResponseFlag.RATE_LIMITED);
                    callbacks.sendLocalReply(RpcStatus.OVERLOADED, "jmesh: local rate limit exceeded",
                            "local_rate_limited");
                    return Status.STOP_ITERATION;
                }
            };
        }
    }

    /** {@code jmesh.filters.rpc.ratelimit}. */
    public static final class Global implements RpcFilterFactory {

        /** The filter's name. */
        public static final String NAME = "jmesh.filters.rpc.ratelimit";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String typeUrl() {
            return EnvoyTypes.typeUrl(RateLimit.getDescriptor());
        }

        @Override
        public PerCall create(JsonNode config, Context context) throws ConfigException {
            RateLimitSettings s = new RateLimitSettings(EnvoyTypes.PARSER.parse(config, RateLimit.newBuilder()).build());
            Stats stats = context.stats();
            String p = "rpc." + context.statPrefix() + '.' + (s.statPrefix.isEmpty() ? "" : s.statPrefix + '.')
                       + "ratelimit.";
            var ok = stats.counter(p + "ok");
            var over = stats.counter(p + "over_limit");
            var error = stats.counter(p + "error");
            var allowed = stats.counter(p + "failure_mode_allowed");
            return request -> new RpcFilter() {
                private RateLimitClient.Call call;
                private boolean done;

                @Override
                public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
                    if (!FractionalPercents.roll(s.enabledNumerator, s.enabledDenominator)) {
                        return Status.CONTINUE;
                    }
                    List<List<RateLimitPolicy.Entry>> d = descriptors(List.of(), s.stage,
                            Descriptors.VhRateLimits.OVERRIDE, request, callbacks);
                    if (d.isEmpty()) {
                        return Status.CONTINUE;
                    }
                    var loop = callbacks.eventLoop();
                    call = s.client.call(context.clusterManager(), RateLimitClient.request(s.domain, d, 0),
                            s.timeoutMillis, (resp, err) -> loop.execute(() -> complete(resp, callbacks)));
                    return Status.STOP_ITERATION;
                }

                private void complete(RateLimitResponse resp, RpcFilterCallbacks callbacks) {
                    if (done) {
                        return;
                    }
                    done = true;
                    call = null;
                    if (resp != null && resp.getOverallCode() == RateLimitResponse.Code.OK) {
                        ok.inc();
                        callbacks.continueDecoding();
                    } else if (resp != null && resp.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT) {
                        over.inc();
                        if (!FractionalPercents.roll(s.enforcedNumerator, s.enforcedDenominator)) {
                            callbacks.continueDecoding();
                            return;
                        }
                        callbacks.streamInfo().addResponseFlag(ResponseFlag.RATE_LIMITED);
                        callbacks.sendLocalReply(RpcStatus.OVERLOADED, "jmesh: rate limit exceeded",
                                "request_rate_limited");
                    } else {
                        error.inc();
                        if (s.failureModeDeny) {
                            callbacks.streamInfo().addResponseFlag(ResponseFlag.RATE_LIMIT_SERVICE_ERROR);
                            callbacks.sendLocalReply(RpcStatus.INTERNAL, "jmesh: rate limit service unavailable",
                                    "rate_limiter_error");
                        } else {
                            allowed.inc();
                            callbacks.continueDecoding();
                        }
                    }
                }

                @Override
                public void onDestroy() {
                    done = true;
                    if (call != null) {
                        call.cancel();
                        call = null;
                    }
                }
            };
        }
    }
}

package io.jmesh.proxy.filter.extauthz;

import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.rpc.RpcFilter;
import io.jmesh.proxy.network.rpc.RpcFilterCallbacks;
import io.jmesh.proxy.network.rpc.RpcFilterFactory;
import io.jmesh.proxy.network.rpc.RpcRequest;
import io.jmesh.proxy.protocol.rpc.RpcStatus;

/**
 * {@code jmesh.filters.rpc.ext_authz}: Envoy's HTTP ext_authz in the rpc_proxy's filter chain (Bolt, Dubbo), with the
 * same config ({@code extensions.filters.http.ext_authz.v3.ExtAuthz}: {@code grpc_service} or {@code http_service},
 * {@code failure_mode_allow}, {@code filter_enabled_metadata}, header rules), so that istiod's CUSTOM policies apply to
 * RPC calls as to HTTP requests: the call is checked as an HTTP request whose host is the service (interface), path
 * {@code /<interface>/<method>}, method the RPC method and headers the Bolt header map or Dubbo attachments. The service
 * is reached through its cluster ({@link ClusterCall}: TLS per the cluster). Allowed: the headers the service adds go
 * to the provider as headers/attachments. Denied, or the service failing without {@code failure_mode_allow}: the
 * protocol's own permission-denied error ({@link RpcStatus#PERMISSION_DENIED}) with the service's body (or
 * {@value #DENIED_MESSAGE}), details {@code ext_authz_denied} / {@code ext_authz_error}. Not supported (refused by
 * name): {@code with_request_body} (RPC bodies are never decoded). Stats {@code rpc.<stat_prefix>.ext_authz.ok},
 * {@code denied}, {@code error}, {@code failure_mode_allowed}, {@code disabled}.
 */
public final class RpcExtAuthzFilterFactory implements RpcFilterFactory {

    private static final Logger logger = LoggerFactory.getLogger(RpcExtAuthzFilterFactory.class);

    /** The filter's name in an rpc_proxy's {@code filters}. */
    public static final String NAME = "jmesh.filters.rpc.ext_authz";

    /** The message of a denial whose answer has no body. */
    static final String DENIED_MESSAGE = "ext_authz: access denied";

    private static final JsonFormat.Parser PARSER = JsonFormat.parser().usingTypeRegistry(EnvoyTypes.REGISTRY);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String typeUrl() {
        return EnvoyTypes.typeUrl(ExtAuthz.getDescriptor());
    }

    @Override
    public PerCall create(JsonNode config, Context context) throws ConfigException {
        ExtAuthz.Builder b = ExtAuthz.newBuilder();
        try {
            PARSER.merge(config.toString(), b);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("@type: " + typeUrl() + " (expected: a valid config: " + e.getMessage() + ")", e);
        }
        ExtAuthz c = b.build();
        if (c.hasWithRequestBody()) {
            throw new ConfigException("with_request_body: (expected: unset; RPC bodies are not sent to the service)");
        }
        ExtAuthzFilterFactory.Settings s = ExtAuthzFilterFactory.Settings.from(c, context.clusterManager(),
                context.stats(), "rpc." + context.statPrefix() + ".ext_authz.");
        return request -> new Filter(s);
    }

    /** The filter of one call. */
    private static final class Filter implements RpcFilter {
        private final ExtAuthzFilterFactory.Settings s;
        private RpcRequest request;
        private RpcFilterCallbacks callbacks;
        private boolean waiting;

        Filter(ExtAuthzFilterFactory.Settings s) {
            this.s = s;
        }

        @Override
        public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
            if (s.enabledMetadata != null && !s.enabledMetadata.test(callbacks.streamInfo())) {
                s.disabled.inc();
                return Status.CONTINUE;
            }
            this.request = request;
            this.callbacks = callbacks;
            waiting = true;
            var check = CheckRequests.http(request, "", callbacks.connection(), s.allowedHeaders, null, 0, false,
                    s.includePeerCertificate, s.includeTlsSession, Map.of());
            var loop = callbacks.eventLoop();
            s.client.check(check, s.timeoutMillis, loop, r -> loop.execute(() -> onResult(r)));
            return Status.STOP_ITERATION;
        }

        private void onResult(AuthzResult r) {
            if (!waiting) {
                return;
            }
            waiting = false;
            switch (r.status()) {
                case OK: {
                    s.ok.inc();
                    for (AuthzResult.HeaderAction a : r.upstreamHeaders()) {
                        request.setHeader(a.name(), a.value());
                    }
                    for (String name : r.upstreamHeadersToRemove()) {
                        request.removeHeader(name);
                    }
                    if (r.dynamicMetadata() != null) {
                        callbacks.streamInfo().setDynamicMetadata(ExtAuthzFilterFactory.NAME, r.dynamicMetadata());
                    }
                    callbacks.continueDecoding();
                    return;
                }
                case DENIED: {
                    s.denied.inc();
                    callbacks.sendLocalReply(RpcStatus.PERMISSION_DENIED, r.body() == null || r.body().isEmpty()
                            ? DENIED_MESSAGE : r.body(), "ext_authz_denied");
                    return;
                }
                default: {
                    s.error.inc();
                    logger.debug("{} ext_authz error: {}", callbacks.connection(), r.reason());
                    if (s.failureModeAllow) {
                        s.failureModeAllowed.inc();
                        if (s.failureModeAllowHeaderAdd) {
                            request.setHeader(ExtAuthzFilterFactory.FAILURE_MODE_ALLOWED_HEADER, "true");
                        }
                        callbacks.continueDecoding();
                        return;
                    }
                    callbacks.sendLocalReply(RpcStatus.PERMISSION_DENIED, "ext_authz: authorization service error",
                            "ext_authz_error");
                }
            }
        }
    }
}

package io.jmesh.proxy.filter.extauthz;

import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.ReadFilter;
import io.jmesh.proxy.network.ReadFilterCallbacks;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.network.ext_authz} ({@code extensions.filters.network.ext_authz.v3.ExtAuthz}): on a
 * connection's first bytes (after the TLS handshake) the connection's attributes (source and destination addresses,
 * the peer's principal and, with {@code include_peer_certificate}, its certificate; the SNI with
 * {@code include_tls_session}) go to a gRPC {@code Authorization/Check} service; the bytes wait. Allowed: they go on.
 * Denied, or the service failing without {@code failure_mode_allow}: the connection is closed. Stats
 * {@code ext_authz.<stat_prefix>.total}, {@code ok}, {@code denied}, {@code error}, {@code failure_mode_allowed},
 * {@code cx_closed} and the gauge {@code active}.
 */
public final class NetworkExtAuthzFilterFactory implements NetworkFilterFactory {

    private static final Logger logger = LoggerFactory.getLogger(NetworkExtAuthzFilterFactory.class);

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.network.ext_authz";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(EnvoyTypes.typeUrl(ExtAuthz.getDescriptor()));
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        ExtAuthz c;
        try {
            c = typedConfig.unpack(ExtAuthz.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: type.googleapis.com/"
                                      + ExtAuthz.getDescriptor().getFullName() + ")", e);
        }
        if (c.getStatPrefix().isEmpty()) {
            throw new ConfigException("typed_config.stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        if (!c.hasGrpcService()) {
            throw new ConfigException("typed_config.grpc_service: null (expected: an envoy_grpc service)");
        }
        if (c.getTransportApiVersion() != ApiVersion.AUTO && c.getTransportApiVersion() != ApiVersion.V3) {
            throw new ConfigException("typed_config.transport_api_version: " + c.getTransportApiVersion()
                                      + " (expected: V3)");
        }
        if (c.hasFilterEnabledMetadata()) {
            throw new ConfigException("typed_config.filter_enabled_metadata: (expected: unset; connections carry no"
                                      + " dynamic metadata here)");
        }
        AuthzClient client = ExtAuthzFilterFactory.grpcClient(c.getGrpcService(), context.clusterManager(),
                "typed_config.grpc_service");
        long timeout = c.getGrpcService().hasTimeout() ? ExtAuthzFilterFactory.millis(c.getGrpcService().getTimeout())
                : ExtAuthzFilterFactory.DEFAULT_TIMEOUT_MILLIS;
        String p = "ext_authz." + c.getStatPrefix() + ".";
        Stats stats = new Stats(context.stats().counter(p + "total"), context.stats().counter(p + "ok"),
                context.stats().counter(p + "denied"), context.stats().counter(p + "error"),
                context.stats().counter(p + "failure_mode_allowed"), context.stats().counter(p + "cx_closed"),
                context.stats().gauge(p + "active"));
        boolean failureModeAllow = c.getFailureModeAllow();
        boolean includePeerCertificate = c.getIncludePeerCertificate();
        boolean includeTlsSession = c.getIncludeTlsSession();
        return m -> m.addReadFilter(new Filter(client, timeout, stats, failureModeAllow, includePeerCertificate,
                includeTlsSession));
    }

    private record Stats(Counter total, Counter ok, Counter denied, Counter error, Counter failureModeAllowed,
                         Counter cxClosed, Gauge active) {}

    /** The filter of one connection. */
    private static final class Filter implements ReadFilter {
        private enum State { IDLE, CHECKING, ALLOWED, CLOSED }

        private final AuthzClient client;
        private final long timeoutMillis;
        private final Stats stats;
        private final boolean failureModeAllow;
        private final boolean includePeerCertificate;
        private final boolean includeTlsSession;
        private ReadFilterCallbacks callbacks;
        private State state = State.IDLE;

        Filter(AuthzClient client, long timeoutMillis, Stats stats, boolean failureModeAllow,
               boolean includePeerCertificate, boolean includeTlsSession) {
            this.client = client;
            this.timeoutMillis = timeoutMillis;
            this.stats = stats;
            this.failureModeAllow = failureModeAllow;
            this.includePeerCertificate = includePeerCertificate;
            this.includeTlsSession = includeTlsSession;
        }

        @Override
        public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
            this.callbacks = callbacks;
        }

        @Override
        public FilterStatus onData(ByteBuf data) {
            switch (state) {
                case ALLOWED:
                    return FilterStatus.CONTINUE;
                case IDLE:
                    state = State.CHECKING;
                    stats.active().inc();
                    CheckRequest request = CheckRequest.newBuilder().setAttributes(CheckRequests.connection(
                            callbacks.connectionInfo(), includePeerCertificate, includeTlsSession)).build();
                    var loop = callbacks.connection().eventLoop();
                    client.check(request, timeoutMillis, loop, r -> loop.execute(() -> onResult(r)));
                    return FilterStatus.STOP_ITERATION;
                default:
                    return FilterStatus.STOP_ITERATION;
            }
        }

        private void onResult(AuthzResult r) {
            stats.active().dec();
            stats.total().inc();
            if (state != State.CHECKING || !callbacks.connection().isActive()) {
                return;
            }
            boolean allow;
            switch (r.status()) {
                case OK:
                    stats.ok().inc();
                    allow = true;
                    break;
                case DENIED:
                    stats.denied().inc();
                    allow = false;
                    break;
                default:
                    stats.error().inc();
                    logger.debug("{} ext_authz error: {}", callbacks.connection(), r.reason());
                    allow = failureModeAllow;
                    if (allow) {
                        stats.failureModeAllowed().inc();
                    }
            }
            if (allow) {
                state = State.ALLOWED;
                callbacks.continueReading();
            } else {
                state = State.CLOSED;
                stats.cxClosed().inc();
                callbacks.connection().close();
            }
        }
    }
}

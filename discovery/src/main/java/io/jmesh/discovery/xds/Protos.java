package io.jmesh.discovery.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.discovery.config.ConfigValidator;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.proxy.config.ConfigException;
import java.time.Duration;

/** Small builders shared by the generators. */
final class Protos {

    private Protos() {}

    static ConfigSource ads() {
        return ConfigSource.newBuilder()
                .setAds(AggregatedConfigSource.getDefaultInstance())
                .setResourceApiVersion(ApiVersion.V3)
                .build();
    }

    /** Istio's name of the SDS cluster that its node agent serves on a Unix socket (in the proxy's bootstrap). */
    static final String SDS_CLUSTER = "sds-grpc";
    /** Istio's SDS name of the workload's certificate and key. */
    static final String SDS_DEFAULT = "default";
    /** Istio's SDS name of the mesh's root certificates. */
    static final String SDS_ROOTCA = "ROOTCA";

    /**
     * Istio's config source for workload secrets: SDS over gRPC from the {@code sds-grpc} cluster,
     * {@code api_config_source {api_type: GRPC, transport_api_version: V3, grpc_services {envoy_grpc
     * {cluster_name: sds-grpc}}}}, {@code set_node_on_first_message_only} and {@code initial_fetch_timeout: 0s}
     * as Istio writes it.
     */
    static ConfigSource sdsGrpc() {
        return ConfigSource.newBuilder()
                .setApiConfigSource(ApiConfigSource.newBuilder()
                        .setApiType(ApiConfigSource.ApiType.GRPC)
                        .setSetNodeOnFirstMessageOnly(true)
                        .setTransportApiVersion(ApiVersion.V3)
                        .addGrpcServices(GrpcService.newBuilder().setEnvoyGrpc(
                                GrpcService.EnvoyGrpc.newBuilder().setClusterName(SDS_CLUSTER))))
                .setInitialFetchTimeout(com.google.protobuf.Duration.getDefaultInstance())
                .setResourceApiVersion(ApiVersion.V3)
                .build();
    }

    /** An SDS secret reference to the node agent ({@link #sdsGrpc()}): {@code default} or {@code ROOTCA}. */
    static SdsSecretConfig agentSecret(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(sdsGrpc()).build();
    }

    /**
     * An SDS secret reference served by discovery itself over ADS, as istiod serves gateway credentials:
     * {@code kubernetes://<credentialName>} (and {@code kubernetes://<credentialName>-cacert} for the CA).
     */
    static SdsSecretConfig credentialSecret(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(ads()).build();
    }

    static Any any(Message m) {
        return Any.pack(m);
    }

    static UInt32Value u32(int v) {
        return UInt32Value.of(v);
    }

    static com.google.protobuf.Duration duration(Duration d) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }

    /** Parses a duration already checked by {@link ConfigValidator}. */
    static com.google.protobuf.Duration duration(String istio) {
        try {
            return duration(ConfigValidator.parseDuration(istio, "duration", Duration.ZERO));
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** A percentage in [0, 100] as Istio encodes it: per million, so that fractions survive. */
    static FractionalPercent percent(double value) {
        return FractionalPercent.newBuilder()
                .setNumerator((int) Math.round(value * 10_000))
                .setDenominator(FractionalPercent.DenominatorType.MILLION)
                .build();
    }

    static StringMatcher stringMatcher(VirtualService.StringMatch m, boolean ignoreCase) {
        StringMatcher.Builder b = StringMatcher.newBuilder();
        if (m.exact() != null) {
            b.setExact(m.exact());
        } else if (m.prefix() != null) {
            b.setPrefix(m.prefix());
        } else {
            b.setSafeRegex(RegexMatcher.newBuilder().setRegex(m.regex()));
        }
        if (ignoreCase) {
            b.setIgnoreCase(true);
        }
        return b.build();
    }

    static boolean isEmpty(VirtualService.StringMatch m) {
        return m == null || (m.exact() == null && m.prefix() == null && m.regex() == null);
    }
}

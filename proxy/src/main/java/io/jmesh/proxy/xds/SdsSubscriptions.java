package io.jmesh.proxy.xds;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.tls.DefaultSecretManager;

/**
 * The SDS side of the secret manager: subscribes to secrets over ADS ({@code sds_config: {ads: {}}}) or over
 * an SDS server ({@code sds_config.api_config_source} with {@code api_type: GRPC} and {@code grpc_services}
 * naming a static cluster by {@code envoy_grpc.cluster_name}, or a {@code google_grpc.target_uri}), and hands
 * what arrives to the {@link DefaultSecretManager}. A static cluster may reach the server by
 * {@code socket_address} or by {@code pipe} (a Unix domain socket, as Istio's agent serves SDS; see
 * {@link #isGrpcOnly}). One state-of-the-world stream per SDS server carries every name subscribed to it.
 *
 * <p>Threading: {@link #subscribe} may be called on any thread and hands its work to the xDS thread;
 * everything else runs on the xDS thread.
 */
public final class SdsSubscriptions implements DefaultSecretManager.RemoteSource, AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(SdsSubscriptions.class);

    /** The type URL of {@code envoy.extensions.transport_sockets.tls.v3.Secret}. */
    public static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    /** The source key of secrets over ADS. */
    static final ConfigSource ADS_KEY = DefaultSecretManager.sourceKey(
            ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build());

    private final Bootstrap bootstrap;
    private final ScheduledExecutorService executor;
    private DefaultSecretManager manager;
    private AdsClient ads;
    private final Set<String> adsNames = new LinkedHashSet<>();
    private final Map<String, Server> servers = new java.util.concurrent.ConcurrentHashMap<>();

    /** One SDS server: its stream, the names asked of it, and the source keys that lead to it. */
    private static final class Server {
        final AdsClient client;
        final Set<String> names = new LinkedHashSet<>();
        final Set<ConfigSource> sources = new LinkedHashSet<>();

        Server(AdsClient client) {
            this.client = client;
        }
    }

    /** @param executor the xDS thread (single-threaded) */
    public SdsSubscriptions(Bootstrap bootstrap, ScheduledExecutorService executor) {
        this.bootstrap = bootstrap;
        this.executor = executor;
    }

    /** Sets the manager that receives the secrets; call once, before any subscription. */
    public void manager(DefaultSecretManager manager) {
        this.manager = manager;
    }

    /**
     * Whether {@code c} is a static cluster only a gRPC client can use: every endpoint is a {@code pipe}
     * (Istio's {@code sds-grpc} cluster). The proxy keeps such clusters out of its cluster manager.
     */
    public static boolean isGrpcOnly(Cluster c) {
        boolean any = false;
        for (LocalityLbEndpoints l : c.getLoadAssignment().getEndpointsList()) {
            for (LbEndpoint e : l.getLbEndpointsList()) {
                if (!e.getEndpoint().getAddress().hasPipe()) {
                    return false;
                }
                any = true;
            }
        }
        return any;
    }

    @Override
    public void subscribe(ConfigSource source, String name, String path) throws ConfigException {
        if (source.hasAds()) {
            if (!bootstrap.getDynamicResources().hasAdsConfig()) {
                throw new ConfigException(path + ".ads: {} (expected: dynamic_resources.ads_config in the bootstrap)");
            }
            executor.execute(() -> {
                adsNames.add(name);
                if (ads != null) {
                    ads.subscribe(SECRET_TYPE, adsNames);
                }
            });
            return;
        }
        String target = target(source.getApiConfigSource(), path + ".api_config_source");
        executor.execute(() -> {
            Server s = servers.computeIfAbsent(target, t -> {
                Server created = new Server(new AdsClient(AdsClient.channel(t, executor), AdsClient.SDS,
                        bootstrap.getNode(), (type, version, resources) -> onSecrets(t, resources), executor));
                created.client.start();
                logger.info("SDS from {}", t);
                return created;
            });
            s.sources.add(source);
            s.names.add(name);
            s.client.subscribe(SECRET_TYPE, s.names);
        });
    }

    private String target(ApiConfigSource api, String path) throws ConfigException {
        if (api.getApiType() != ApiConfigSource.ApiType.GRPC) {
            throw new ConfigException(path + ".api_type: " + api.getApiType()
                                      + " (expected: GRPC; this proxy speaks state-of-the-world SDS)");
        }
        if (api.getGrpcServicesCount() != 1) {
            throw new ConfigException(path + ".grpc_services: " + api.getGrpcServicesCount()
                                      + " services (expected: 1)");
        }
        GrpcService gs = api.getGrpcServices(0);
        String gp = path + ".grpc_services[0]";
        if (gs.hasGoogleGrpc()) {
            if (gs.getGoogleGrpc().getTargetUri().isEmpty()) {
                throw new ConfigException(gp + ".google_grpc.target_uri: \"\" (expected: host:port or unix:/path)");
            }
            return gs.getGoogleGrpc().getTargetUri();
        }
        String name = gs.getEnvoyGrpc().getClusterName();
        for (Cluster c : bootstrap.getStaticResources().getClustersList()) {
            if (!c.getName().equals(name)) {
                continue;
            }
            for (LocalityLbEndpoints l : c.getLoadAssignment().getEndpointsList()) {
                for (LbEndpoint e : l.getLbEndpointsList()) {
                    var a = e.getEndpoint().getAddress();
                    if (a.hasPipe()) {
                        return "unix:" + a.getPipe().getPath();
                    }
                    if (a.hasSocketAddress()) {
                        SocketAddress sa = a.getSocketAddress();
                        String host = sa.getAddress().contains(":") ? "[" + sa.getAddress() + "]" : sa.getAddress();
                        return host + ":" + sa.getPortValue();
                    }
                }
            }
            throw new ConfigException(gp + ".envoy_grpc.cluster_name: " + name
                                      + " (expected: a static cluster with a socket_address or pipe endpoint)");
        }
        throw new ConfigException(gp + ".envoy_grpc.cluster_name: " + name
                                  + " (expected: the name of a static_resources cluster)");
    }

    /** Starts asking ADS for the secrets subscribed over ADS. Call on the xDS thread. */
    void attachAds(AdsClient client) {
        this.ads = client;
        if (!adsNames.isEmpty()) {
            client.subscribe(SECRET_TYPE, adsNames);
        }
    }

    /** Secrets that came over ADS. Call on the xDS thread. */
    void onAdsSecrets(List<Any> resources) throws ConfigException {
        manager.deliver(ADS_KEY, unpack(resources));
    }

    private void onSecrets(String target, List<Any> resources) throws ConfigException {
        List<Secret> secrets = unpack(resources);
        Server s = servers.get(target);
        if (s != null) {
            for (ConfigSource source : s.sources) {
                manager.deliver(source, secrets);
            }
        }
    }

    private static List<Secret> unpack(List<Any> resources) throws ConfigException {
        List<Secret> out = new ArrayList<>(resources.size());
        for (int i = 0; i < resources.size(); i++) {
            Secret s;
            try {
                s = resources.get(i).unpack(Secret.class);
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException("resources[" + i + "]: " + resources.get(i).getTypeUrl()
                                          + " (expected: " + SECRET_TYPE + ")");
            }
            if (s.getName().isEmpty()) {
                throw new ConfigException("resources[" + i + "].name: \"\" (expected: a secret name)");
            }
            if (!s.hasTlsCertificate() && !s.hasValidationContext()) {
                throw new ConfigException("resources[" + i + "]: " + s.getTypeCase()
                                          + " (expected: tls_certificate or validation_context)");
            }
            out.add(s);
        }
        return out;
    }

    /** Ends the SDS streams. */
    @Override
    public void close() {
        servers.values().forEach(s -> s.client.close());
    }
}

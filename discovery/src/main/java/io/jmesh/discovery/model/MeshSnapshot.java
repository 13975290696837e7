package io.jmesh.discovery.model;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.Credential;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.config.PeerAuthentication;
import io.jmesh.discovery.config.Sidecar;
import io.jmesh.discovery.config.VirtualService;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One consistent view of the mesh: services and endpoints from every registry and the Istio
 * config. Immutable and safe to share between threads; built once per debounced change.
 */
public final class MeshSnapshot {

    /** The DNS suffix of in-mesh service names. */
    public static final String DOMAIN_SUFFIX = "cluster.local";

    private final long version;
    private final Instant createdAt;
    private final ConfigSnapshot config;
    private final Map<String, Service> services;
    private final Map<String, List<Endpoint>> endpoints;
    private final List<Config<VirtualService>> virtualServices;
    /** Why routes of root VirtualServices were dropped during delegation (a missing or conflicting delegate). */
    private final List<String> delegationProblems;
    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(MeshSnapshot.class);
    /** Delegation problems already logged, so that each is logged once, not once per snapshot. */
    private static final java.util.Set<String> LOGGED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<Config<DestinationRule>> destinationRules;
    private final List<Config<Gateway>> gateways;
    private final List<Config<Sidecar>> sidecars;
    private final List<Config<PeerAuthentication>> peerAuthentications;
    private final List<Credential> credentials;
    private final ResolvedJwks jwks;
    /** DestinationRules by resolved exact host, and those with a wildcard host, each in config order. */
    private final Map<String, List<Config<DestinationRule>>> drByHost = new java.util.HashMap<>();
    private final List<HostIndexed<DestinationRule>> drWildcards = new ArrayList<>();
    private final Map<Config<DestinationRule>, Integer> drOrder = new java.util.IdentityHashMap<>();
    /** VirtualServices by resolved exact host, and (VirtualService, wildcard host) pairs, each in config order. */
    private final Map<String, List<Config<VirtualService>>> vsByHost = new java.util.HashMap<>();
    private final List<HostIndexed<VirtualService>> vsWildcards = new ArrayList<>();

    /** A config and one of its hosts, resolved to a FQDN or a wildcard pattern. */
    public record HostIndexed<T>(Config<T> config, String host) {}

    /**
     * Builds a snapshot. {@code services} with the same host from several registries: the first
     * wins (registries are listed in priority order).
     */
    public MeshSnapshot(long version, ConfigSnapshot config, List<Service> services, List<Endpoint> endpoints) {
        this(version, config, services, endpoints, List.of());
    }

    /**
     * Builds a snapshot with TLS {@code credentials} (from {@code --credentials-dir}) that proxies may ask for by
     * {@code credentialName}.
     */
    public MeshSnapshot(long version, ConfigSnapshot config, List<Service> services, List<Endpoint> endpoints,
                        List<Credential> credentials) {
        this(version, config, services, endpoints, credentials, ResolvedJwks.NONE);
    }

    /**
     * Builds a snapshot with TLS {@code credentials} and the JSON Web Key Sets discovery fetched for
     * RequestAuthentication rules ({@code jwks}).
     */
    public MeshSnapshot(long version, ConfigSnapshot config, List<Service> services, List<Endpoint> endpoints,
                        List<Credential> credentials, ResolvedJwks jwks) {
        this.credentials = List.copyOf(credentials);
        this.jwks = java.util.Objects.requireNonNull(jwks, "jwks");
        this.version = version;
        this.createdAt = Instant.now();
        this.config = config;
        Map<String, Service> byHost = new TreeMap<>();
        for (Service s : services) {
            byHost.putIfAbsent(s.hostname(), s);
        }
        this.services = Collections.unmodifiableMap(byHost);
        Map<String, List<Endpoint>> eps = new LinkedHashMap<>();
        for (Endpoint e : endpoints) {
            Service owner = byHost.get(e.serviceHost());
            if (owner != null) {
                eps.computeIfAbsent(e.serviceHost(), k -> new ArrayList<>()).add(e);
            }
        }
        eps.replaceAll((k, v) -> List.copyOf(v));
        this.endpoints = Collections.unmodifiableMap(eps);
        List<String> problems = new ArrayList<>();
        this.virtualServices = List.copyOf(VirtualServiceDelegation.merge(config.of(ConfigKind.VIRTUAL_SERVICE),
                config.meshConfig().defaultVirtualServiceExportTo(), problems::add));
        this.delegationProblems = List.copyOf(problems);
        for (String p : problems) {
            if (LOGGED.add(p)) {
                logger.warn("{}", p);
            }
        }
        if (LOGGED.size() > 10_000) {
            LOGGED.clear();
        }
        this.destinationRules = config.of(ConfigKind.DESTINATION_RULE);
        this.gateways = config.of(ConfigKind.GATEWAY);
        this.sidecars = config.of(ConfigKind.SIDECAR);
        this.peerAuthentications = config.of(ConfigKind.PEER_AUTHENTICATION);
        for (int i = 0; i < destinationRules.size(); i++) {
            Config<DestinationRule> dr = destinationRules.get(i);
            drOrder.put(dr, i);
            String h = resolveShortName(dr.spec().host(), dr.meta().namespace());
            if (h.startsWith("*")) {
                drWildcards.add(new HostIndexed<>(dr, h));
            } else {
                drByHost.computeIfAbsent(h, k -> new ArrayList<>(1)).add(dr);
            }
        }
        for (Config<VirtualService> vs : virtualServices) {
            for (String raw : vs.spec().hosts()) {
                String h = resolveShortName(raw, vs.meta().namespace());
                if (h.startsWith("*")) {
                    vsWildcards.add(new HostIndexed<>(vs, h));
                } else {
                    List<Config<VirtualService>> l = vsByHost.computeIfAbsent(h, k -> new ArrayList<>(1));
                    if (!l.contains(vs)) {
                        l.add(vs);
                    }
                }
            }
        }
    }

    /** VirtualServices naming {@code host} exactly (after short-name resolution), in config order. */
    public List<Config<VirtualService>> virtualServicesForHost(String host) {
        return vsByHost.getOrDefault(host, List.of());
    }

    /** Every (VirtualService, wildcard host) pair, in config order. */
    public List<HostIndexed<VirtualService>> wildcardVirtualServiceHosts() {
        return Collections.unmodifiableList(vsWildcards);
    }

    /** Returns an empty snapshot. */
    public static MeshSnapshot empty() {
        return new MeshSnapshot(0, ConfigSnapshot.EMPTY, List.of(), List.of());
    }

    /** Returns the version, increasing with each new snapshot. */
    public long version() {
        return version;
    }

    /** Returns when this snapshot was built. */
    public Instant createdAt() {
        return createdAt;
    }

    /** Returns the Istio config it was built from. */
    public ConfigSnapshot config() {
        return config;
    }

    /** Returns the mesh config. */
    public MeshConfig meshConfig() {
        return config.meshConfig();
    }

    /** Returns all services by host, sorted by host. */
    public Map<String, Service> services() {
        return services;
    }

    /** Returns the service of {@code host}, or {@code null}. */
    public Service service(String host) {
        return services.get(host);
    }

    /** Returns the endpoints of {@code host} on the port named {@code portName}. */
    public List<Endpoint> endpoints(String host, String portName) {
        List<Endpoint> all = endpoints.getOrDefault(host, List.of());
        List<Endpoint> out = new ArrayList<>();
        for (Endpoint e : all) {
            if (e.servicePortName().equals(portName)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Returns every endpoint, by service host. */
    public Map<String, List<Endpoint>> endpoints() {
        return endpoints;
    }

    /**
     * Returns the VirtualServices, sorted by {@code namespace/name}, as they apply: delegates (no {@code hosts}) left
     * out and merged into the routes of their roots ({@link VirtualServiceDelegation}).
     */
    public List<Config<VirtualService>> virtualServices() {
        return virtualServices;
    }

    /** Returns why routes of root VirtualServices were dropped when their delegates were merged (empty if none). */
    public List<String> delegationProblems() {
        return delegationProblems;
    }

    /** Returns the Gateways. */
    public List<Config<Gateway>> gateways() {
        return gateways;
    }

    /** Returns the Sidecars. */
    public List<Config<Sidecar>> sidecars() {
        return sidecars;
    }

    /** Returns the JSON Web Key Sets discovery fetched for RequestAuthentication rules, and its fetch mode. */
    public ResolvedJwks jwks() {
        return jwks;
    }

    /** Returns the TLS credentials, sorted by namespace and name. */
    public List<Credential> credentials() {
        return credentials;
    }

    /** Returns the PeerAuthentications, sorted by {@code namespace/name}. */
    public List<Config<PeerAuthentication>> peerAuthentications() {
        return peerAuthentications;
    }

    /**
     * Returns the DestinationRule for {@code host} as seen from {@code namespace}: one in the
     * proxy's namespace first, then any other exported to that namespace (Istio's lookup order and
     * {@code exportTo} visibility: {@code .}, {@code *}, unset or the namespace's name).
     */
    public Config<DestinationRule> destinationRule(String host, String namespace) {
        // Same result as scanning every rule in config order, from an index built once per snapshot.
        Config<DestinationRule> sameNs = null;
        Config<DestinationRule> other = null;
        for (Config<DestinationRule> dr : drByHost.getOrDefault(host, List.of())) {
            if (dr.meta().namespace().equals(namespace) && visibleFrom(dr, namespace)) {
                sameNs = dr;
                break;
            }
            if (other == null && visibleFrom(dr, namespace)) {
                other = dr;
            }
        }
        for (HostIndexed<DestinationRule> w : drWildcards) {
            if (!hostMatches(w.host(), host)) {
                continue;
            }
            Config<DestinationRule> dr = w.config();
            if (dr.meta().namespace().equals(namespace) && visibleFrom(dr, namespace)
                    && (sameNs == null || drOrder.get(dr) < drOrder.get(sameNs))) {
                sameNs = dr;
            }
            if ((other == null || drOrder.get(dr) < drOrder.get(other)) && visibleFrom(dr, namespace)) {
                other = dr;
            }
        }
        return sameNs != null ? sameNs : other;
    }

    private boolean visibleFrom(Config<DestinationRule> dr, String namespace) {
        List<String> exportTo = dr.spec().exportTo().isEmpty()
                ? config.meshConfig().defaultDestinationRuleExportTo() : dr.spec().exportTo();
        return io.jmesh.discovery.config.ConfigValidator.exportedTo(exportTo, dr.meta().namespace(), namespace);
    }

    /**
     * Resolves a short host written in a config of {@code namespace} to its FQDN, as Istio does:
     * a name without a dot becomes {@code name.namespace.svc.cluster.local}.
     */
    public static String resolveShortName(String host, String namespace) {
        if (host.equals("*") || host.contains(".")) {
            return host;
        }
        return host + '.' + namespace + ".svc." + DOMAIN_SUFFIX;
    }

    /** Returns whether {@code pattern} (maybe {@code *.suffix} or {@code *}) covers {@code host}. */
    public static boolean hostMatches(String pattern, String host) {
        if (pattern.equals("*") || pattern.equals(host)) {
            return true;
        }
        return pattern.startsWith("*.") && host.endsWith(pattern.substring(1));
    }
}

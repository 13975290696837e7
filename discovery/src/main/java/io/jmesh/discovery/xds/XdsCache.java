package io.jmesh.discovery.xds;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.jmesh.discovery.config.AuthorizationPolicy;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.PeerAuthentication;
import io.jmesh.discovery.config.RequestAuthentication;
import io.jmesh.discovery.config.Sidecar;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Generated resources shared between proxies that have the same generation inputs (Istio's
 * {@code XdsCache}): for one snapshot, the output of {@link XdsGenerator} for a type depends only on
 * the proxy's kind, namespace, the Sidecar resource that selects it, its labels where some
 * VirtualService's HTTP match has {@code sourceLabels} (and always for gateways), and (CDS and LDS of a sidecar) the ports of its own workload. Those form the
 * cache key, so 2,000 sidecars of the same shape cost one generation per type and share one set of
 * packed {@link Any} messages.
 *
 * <p>Only the newest snapshot is cached: asking for a newer one drops every entry of the older one;
 * asking for an older one (a push racing an update) generates without caching. Concurrent requests
 * for the same key wait for one generation. Thread-safe; {@link #get} may block while another thread
 * generates the same key, so it must not be called on an event loop.
 */
public final class XdsCache {

    /**
     * One type's resources for one proxy shape: packed resources and their versions, both by name
     * in name order, and the version of the whole set ({@link Versions#ofSet}). Immutable.
     */
    public record Generated(String typeUrl, Map<String, Any> resources, Map<String, String> versions,
                            String version) {

        /** Packs and versions {@code resources} (by name, any order). */
        public static Generated of(String typeUrl, Map<String, Message> resources) {
            Map<String, Any> anys = new LinkedHashMap<>();
            Map<String, String> versions = new LinkedHashMap<>();
            new TreeMap<>(resources).forEach((name, m) -> {
                // One deterministic serialization serves as the packed value and as the hashed bytes.
                ByteString bytes = Versions.deterministicBytes(m);
                anys.put(name, Any.newBuilder().setTypeUrl(TYPE_URL_PREFIX + m.getDescriptorForType().getFullName())
                        .setValue(bytes).build());
                versions.put(name, Versions.of(bytes));
            });
            return new Generated(typeUrl, Collections.unmodifiableMap(anys), Collections.unmodifiableMap(versions),
                    Versions.ofSet(versions));
        }
    }

    /**
     * What a new snapshot may change for proxies, compared with the one before it (istiod's
     * {@code PushRequest}: {@code Full} and {@code ConfigsUpdated} narrowed to xDS types, as its
     * {@code cdsNeedsPush} / {@code edsNeedsPush} / {@code rdsNeedsPush} / {@code ldsNeedsPush} do).
     * A type outside {@code types} has the same content as before for every proxy, except CDS and
     * LDS of proxies whose IP is in {@code workloadIps} (their own workload's endpoints changed, so
     * their inbound config may have). Immutable.
     *
     * <p>Derived from the two snapshots, per kind of input:
     * <ul>
     *   <li>mesh config, services (ServiceEntry or any registry), DestinationRule, Sidecar, or an
     *       unknown kind: every type;
     *   <li>VirtualService, Gateway: LDS and RDS (listeners embed TCP and RPC routes; gateway
     *       listeners and routes come from Gateway servers), never CDS or EDS;
     *   <li>endpoints only (Istio's incremental EDS): EDS, plus CDS when a changed host is
     *       DNS-resolved (its cluster carries its endpoints inline), plus CDS and LDS of the proxies
     *       at the changed endpoints' addresses.
     * </ul>
     *
     * @param types       type URLs whose content may have changed for any proxy
     * @param workloadIps addresses of endpoints added, removed or changed
     */
    public record Scope(Set<String> types, Set<String> workloadIps) {

        /** Every type, for every proxy. */
        public static final Scope ALL = new Scope(Set.copyOf(TypeUrls.ALL), Set.of());

        /** Nothing changed. */
        public static final Scope NONE = new Scope(Set.of(), Set.of());

        public Scope {
            types = Set.copyOf(types);
            workloadIps = Set.copyOf(workloadIps);
        }

        /** Returns whether {@code typeUrl} may have changed for a proxy at {@code ip}. */
        public boolean affects(String typeUrl, String ip) {
            return types.contains(typeUrl) || (!workloadIps.isEmpty() && workloadIps.contains(ip)
                    && (typeUrl.equals(TypeUrls.CLUSTER) || typeUrl.equals(TypeUrls.LISTENER)));
        }

        /** Returns whether nothing changed for any proxy. */
        public boolean isEmpty() {
            return types.isEmpty() && workloadIps.isEmpty();
        }

        /** Returns what {@code next} may change compared with {@code prev}. */
        public static Scope between(MeshSnapshot prev, MeshSnapshot next) {
            if (prev == next) {
                return NONE;
            }
            if (!prev.meshConfig().equals(next.meshConfig()) || !prev.services().equals(next.services())) {
                return ALL;
            }
            Set<String> types = new HashSet<>();
            for (ConfigKind kind : ConfigKind.values()) {
                if (prev.config().of(kind).equals(next.config().of(kind))) {
                    continue;
                }
                switch (kind) {
                    // Their effect is in services and endpoints, compared on their own.
                    case SERVICE_ENTRY, WORKLOAD_ENTRY -> { }
                    case VIRTUAL_SERVICE, GATEWAY -> {
                        types.add(TypeUrls.LISTENER);
                        types.add(TypeUrls.ROUTE);
                    }
                    // Filters of the sidecars' inbound listeners only (istiod: AuthorizationPolicy -> LDS).
                    case AUTHORIZATION_POLICY -> types.add(TypeUrls.LISTENER);
                    default -> {
                        return ALL;
                    }
                }
            }
            if (!prev.credentials().equals(next.credentials())) {
                types.add(TypeUrls.SECRET);
            }
            if (!prev.jwks().equals(next.jwks())) {
                types.add(TypeUrls.LISTENER); // the JWT filter's inline keys (OpenID discovery, istiod mode)
            }
            Set<String> ips = new HashSet<>();
            Map<String, List<Endpoint>> before = prev.endpoints();
            Map<String, List<Endpoint>> after = next.endpoints();
            if (!before.equals(after)) {
                types.add(TypeUrls.ENDPOINT);
                Set<String> hosts = new HashSet<>(before.keySet());
                hosts.addAll(after.keySet());
                for (String host : hosts) {
                    List<Endpoint> b = before.getOrDefault(host, List.of());
                    List<Endpoint> a = after.getOrDefault(host, List.of());
                    if (b.equals(a)) {
                        continue;
                    }
                    Service svc = next.service(host);
                    if (svc != null && !"STATIC".equals(svc.resolution())) {
                        types.add(TypeUrls.CLUSTER);
                    }
                    if (!sidecarPorts(b).equals(sidecarPorts(a))) {
                        // Auto mTLS: a cluster has transport_socket_matches only while some endpoint of its
                        // port has a sidecar (ClusterGenerator), so it changes when that does.
                        types.add(TypeUrls.CLUSTER);
                    }

                    Set<Endpoint> common = new HashSet<>(b);
                    common.retainAll(a);
                    for (Endpoint e : b) {
                        if (!common.contains(e)) {
                            ips.add(e.address());
                        }
                    }
                    for (Endpoint e : a) {
                        if (!common.contains(e)) {
                            ips.add(e.address());
                        }
                    }
                }
            }
            return new Scope(types, ips);
        }
    }

    private static final String TYPE_URL_PREFIX = "type.googleapis.com/";

    /** The port names of {@code eps} with at least one endpoint labelled {@code security.istio.io/tlsMode: istio}. */
    private static Set<String> sidecarPorts(List<Endpoint> eps) {
        Set<String> out = new HashSet<>();
        for (Endpoint e : eps) {
            if ("istio".equals(e.labels().get(EndpointGenerator.TLS_MODE_LABEL))) {
                out.add(e.servicePortName());
            }
        }
        return out;
    }


    private record Key(String typeUrl, ProxyNode.Type kind, String namespace, String sidecar,
                       Map<String, String> labels, Map<Integer, InboundPort> inboundPorts,
                       Map<String, String> metadata) {}

    /**
     * @param envoyFilterLabels whether some EnvoyFilter selects proxies by labels
     * @param envoyFilterMetadata the node metadata keys some EnvoyFilter matches on
     */
    private record State(MeshSnapshot snapshot, boolean sourceLabels, boolean envoyFilterLabels,
                         Set<String> envoyFilterMetadata,
                         ConcurrentHashMap<Key, CompletableFuture<Generated>> entries,
                         Map<String, Map<Integer, InboundPort>> inboundPortsByIp) {}

    private final AtomicReference<State> state = new AtomicReference<>(newState(MeshSnapshot.empty()));
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();

    /**
     * Returns {@code typeUrl}'s resources for {@code proxy} in {@code snapshot}, generated once per
     * shape of proxy.
     */
    public Generated get(String typeUrl, ProxyNode proxy, MeshSnapshot snapshot) {
        State s = stateFor(snapshot);
        if (s == null) {
            misses.increment();
            return Generated.of(typeUrl, XdsGenerator.generate(typeUrl, proxy, snapshot));
        }
        Key key = key(typeUrl, proxy, s);
        CompletableFuture<Generated> mine = new CompletableFuture<>();
        CompletableFuture<Generated> existing = s.entries.putIfAbsent(key, mine);
        if (existing != null) {
            hits.increment();
            try {
                return existing.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        misses.increment();
        try {
            Generated g = Generated.of(typeUrl, XdsGenerator.generate(typeUrl, proxy, snapshot));
            mine.complete(g);
            return g;
        } catch (RuntimeException | Error e) {
            s.entries.remove(key, mine);
            mine.completeExceptionally(e);
            throw e;
        }
    }

    /**
     * Makes {@code next} the cached snapshot and returns what it changes compared with the cached
     * one: entries of the types it does not affect are kept (they are what generation would give
     * again), the others dropped. Returns {@link Scope#ALL} when {@code next} is not newer than
     * the cached snapshot. Call it once per new snapshot, before pushing it.
     */
    public Scope advance(MeshSnapshot next) {
        while (true) {
            State s = state.get();
            if (s.snapshot == next) {
                return Scope.NONE;
            }
            if (next.version() < s.snapshot.version()) {
                return Scope.ALL;
            }
            Scope scope = Scope.between(s.snapshot, next);
            State n = newState(next);
            if (!scope.types().containsAll(TypeUrls.ALL)) {
                s.entries.forEach((key, f) -> {
                    if (!scope.types().contains(key.typeUrl()) && f.isDone() && !f.isCompletedExceptionally()
                            && (scope.workloadIps().isEmpty() || key.kind() == ProxyNode.Type.SIDECAR
                                || !(key.typeUrl().equals(TypeUrls.CLUSTER) || key.typeUrl().equals(TypeUrls.LISTENER)))) {
                        // A sidecar's CDS and LDS depend on its own endpoints only through the key's
                        // inbound ports, recomputed from the new snapshot at each lookup.
                        n.entries.put(key, f);
                    }
                });
            }
            if (state.compareAndSet(s, n)) {
                return scope;
            }
        }
    }

    /** Returns how many lookups were answered from the cache. */
    public long hits() {
        return hits.sum();
    }

    /** Returns how many lookups generated. */
    public long misses() {
        return misses.sum();
    }

    /** Returns how many entries the current snapshot has. */
    public int size() {
        return state.get().entries.size();
    }

    private State stateFor(MeshSnapshot snapshot) {
        while (true) {
            State s = state.get();
            if (s.snapshot == snapshot) {
                return s;
            }
            if (snapshot.version() < s.snapshot.version()) {
                return null;
            }
            State next = newState(snapshot);
            if (state.compareAndSet(s, next)) {
                return next;
            }
        }
    }

    private static State newState(MeshSnapshot snapshot) {
        // Listeners also depend on the labels when a policy selects workloads by label (PeerAuthentication,
        // AuthorizationPolicy, RequestAuthentication, Telemetry) or tracing tags spans with them: two sidecars with
        // the same ports in one namespace must not share a cached LDS then.
        return new State(snapshot, usesSourceLabels(snapshot)
                || someSelectsByLabels(snapshot, ConfigKind.PEER_AUTHENTICATION, PeerAuthentication::hasSelector)
                || someSelectsByLabels(snapshot, ConfigKind.AUTHORIZATION_POLICY,
                        (AuthorizationPolicy ap) -> !ap.matchLabels().isEmpty())
                || someSelectsByLabels(snapshot, ConfigKind.REQUEST_AUTHENTICATION, RequestAuthentication::hasSelector)
                || TelemetryPolicy.dependsOnLabels(snapshot),
                EnvoyFilters.selectByLabels(snapshot),
                EnvoyFilters.metadataKeys(snapshot),
                new ConcurrentHashMap<>(),
                inboundPortsByIp(snapshot));
    }

    private static Key key(String typeUrl, ProxyNode proxy, State s) {
        Config<Sidecar> sc = proxy.type() == ProxyNode.Type.SIDECAR
                ? GenerationContext.sidecarFor(proxy, s.snapshot) : null;
        String sidecar = sc == null ? "" : sc.meta().namespace() + '/' + sc.meta().name();
        if (sc != null && SidecarIngress.usesWorkloadIp(sc.spec())) {
            sidecar += '@' + proxy.ip(); // its ingress forwards to the workload's IP: clusters differ per proxy
        }
        boolean byLabels = proxy.type() == ProxyNode.Type.ROUTER
                || (s.sourceLabels && (typeUrl.equals(TypeUrls.ROUTE) || typeUrl.equals(TypeUrls.LISTENER)))
                || (s.envoyFilterLabels && !typeUrl.equals(TypeUrls.ENDPOINT) && !typeUrl.equals(TypeUrls.SECRET));
        Map<Integer, InboundPort> inbound = Map.of();
        if (proxy.type() == ProxyNode.Type.SIDECAR
                && (typeUrl.equals(TypeUrls.CLUSTER) || typeUrl.equals(TypeUrls.LISTENER))) {
            inbound = proxy.ip().isEmpty() ? Map.of() : s.inboundPortsByIp.getOrDefault(proxy.ip(), Map.of());
        }
        return new Key(typeUrl, proxy.type(), proxy.namespace(), sidecar, byLabels ? proxy.labels() : Map.of(),
                inbound, metadataOf(proxy, s.envoyFilterMetadata));
    }

    /** The values of {@code keys} in the proxy's metadata (absent keys left out). */
    private static Map<String, String> metadataOf(ProxyNode proxy, Set<String> keys) {
        if (keys.isEmpty()) {
            return Map.of();
        }
        Map<String, String> out = new java.util.TreeMap<>();
        for (String k : keys) {
            String v = proxy.metadata().get(k);
            if (v != null) {
                out.put(k, v);
            }
        }
        return out;
    }

    /**
     * The {@link InboundPort}s of each workload address: all that a sidecar's inbound config depends on (see
     * {@code ListenerGenerator} and {@code ClusterGenerator}).
     */
    private static Map<String, Map<Integer, InboundPort>> inboundPortsByIp(MeshSnapshot snapshot) {
        Map<String, List<Endpoint>> byIp = new HashMap<>();
        for (List<Endpoint> eps : snapshot.endpoints().values()) {
            for (Endpoint e : eps) {
                byIp.computeIfAbsent(e.address(), k -> new ArrayList<>()).add(e);
            }
        }
        Map<String, Map<Integer, InboundPort>> out = new HashMap<>();
        byIp.forEach((ip, eps) -> out.put(ip, InboundPort.of(snapshot, eps)));
        return out;
    }

    /**
     * Whether some policy of {@code kind} selects workloads by labels ({@code byLabels} of its spec): then a sidecar's
     * listeners depend on its labels, not only on its namespace and ports.
     */
    private static <T> boolean someSelectsByLabels(MeshSnapshot snapshot, ConfigKind kind, Predicate<T> byLabels) {
        for (Config<T> c : snapshot.config().<T>of(kind)) {
            if (byLabels.test(c.spec())) {
                return true;
            }
        }
        return false;
    }

    /** Whether routes (and listeners) depend on the proxy's labels: some VirtualService matches on {@code sourceLabels}. */
    private static boolean usesSourceLabels(MeshSnapshot snapshot) {
        for (Config<VirtualService> vs : snapshot.virtualServices()) {
            if (vs.spec().http() != null) {
                for (VirtualService.HTTPRoute r : vs.spec().http()) {
                    if (r.match() != null) {
                        for (VirtualService.HTTPMatchRequest m : r.match()) {
                            if (m.sourceLabels() != null && !m.sourceLabels().isEmpty()) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        return false;
    }
}

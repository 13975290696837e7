package io.jmesh.discovery.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.Sidecar;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

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
                anys.put(name, Any.pack(m));
                versions.put(name, Versions.of(m));
            });
            return new Generated(typeUrl, Collections.unmodifiableMap(anys), Collections.unmodifiableMap(versions),
                    Versions.ofSet(versions));
        }
    }

    private record Key(String typeUrl, ProxyNode.Type kind, String namespace, String sidecar,
                       Map<String, String> labels, Map<Integer, Boolean> inboundPorts) {}

    private record State(MeshSnapshot snapshot, boolean sourceLabels,
                         ConcurrentHashMap<Key, CompletableFuture<Generated>> entries) {}

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
        return new State(snapshot, usesSourceLabels(snapshot), new ConcurrentHashMap<>());
    }

    private static Key key(String typeUrl, ProxyNode proxy, State s) {
        Config<Sidecar> sc = proxy.type() == ProxyNode.Type.SIDECAR
                ? GenerationContext.sidecarFor(proxy, s.snapshot) : null;
        String sidecar = sc == null ? "" : sc.meta().namespace() + '/' + sc.meta().name();
        boolean byLabels = proxy.type() == ProxyNode.Type.ROUTER
                || (s.sourceLabels && (typeUrl.equals(TypeUrls.ROUTE) || typeUrl.equals(TypeUrls.LISTENER)));
        Map<Integer, Boolean> inbound = Map.of();
        if (proxy.type() == ProxyNode.Type.SIDECAR
                && (typeUrl.equals(TypeUrls.CLUSTER) || typeUrl.equals(TypeUrls.LISTENER))) {
            inbound = inboundPorts(proxy, s.snapshot);
        }
        return new Key(typeUrl, proxy.type(), proxy.namespace(), sidecar, byLabels ? proxy.labels() : Map.of(),
                inbound);
    }

    /** The ports of the proxy's own workload and whether each is HTTP: all that inbound config depends on. */
    private static Map<Integer, Boolean> inboundPorts(ProxyNode proxy, MeshSnapshot snapshot) {
        if (proxy.ip().isEmpty()) {
            return Map.of();
        }
        Map<Integer, Boolean> ports = new TreeMap<>();
        for (List<Endpoint> eps : snapshot.endpoints().values()) {
            for (Endpoint e : eps) {
                if (e.address().equals(proxy.ip())) {
                    Service svc = snapshot.service(e.serviceHost());
                    boolean http = false;
                    if (svc != null) {
                        for (ServicePort p : svc.ports()) {
                            if (p.name().equals(e.servicePortName())) {
                                http = p.isHttp();
                            }
                        }
                    }
                    ports.merge(e.port(), http, Boolean::logicalAnd);
                }
            }
        }
        return ports;
    }

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

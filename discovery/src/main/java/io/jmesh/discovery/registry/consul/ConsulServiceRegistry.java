package io.jmesh.discovery.registry.consul;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.discovery.registry.Protocols;
import io.jmesh.discovery.registry.ServiceRegistry;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services and healthy instances from Consul's catalog (as Istio's Consul adapter read them), kept up to date
 * with Consul's <a href="https://developer.hashicorp.com/consul/api-docs/features/blocking">blocking queries</a>:
 * <ul>
 *   <li>{@code GET /v1/catalog/services?index=N&wait=W}: the names of the services; a watch per name;</li>
 *   <li>{@code GET /v1/health/service/<name>?passing&index=N&wait=W}: the instances whose checks all pass.</li>
 * </ul>
 * Each query carries the {@code X-Consul-Index} of the previous answer, so Consul holds it until something
 * changes (or {@code wait} passes) and a change arrives at once. As Consul's documentation asks, an index
 * that goes backwards (Consul restarted, its state restored) or is below 1 resets the next query to index 0
 * (an immediate full read), and so does any failed query, retried after a back-off of up to 5 seconds; a
 * failure keeps the last known instances.
 *
 * <p>The model: service {@code NAME} is the host {@code NAME.service.consul} in namespace {@code default};
 * each instance's port is a service port named after its protocol, taken from the {@code protocol} key of the
 * service's or node's meta ({@code http} when absent; unknown protocols are TCP, as in Istio). An endpoint's
 * labels are the service's {@code ServiceMeta} and its tags of the form {@code key|value} (other tags are
 * ignored, as Istio did); its locality is the node's datacenter; its address the service address, else the
 * node's. A node whose meta has {@code external} makes the service mesh-external with passthrough resolution.
 *
 * <p>Requests run asynchronously on the JDK's HTTP client (no thread per watched service); results are
 * applied on the registry's own thread, where listeners are called. Thread-safe.
 */
public final class ConsulServiceRegistry implements ServiceRegistry {

    private static final Logger logger = LoggerFactory.getLogger(ConsulServiceRegistry.class);

    /** How long Consul holds a blocking query by default. */
    public static final Duration DEFAULT_WAIT = Duration.ofSeconds(60);

    /** The largest answer read from Consul. */
    public static final int MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One healthy instance as Consul reported it. */
    private record Instance(String address, int port, String protocol, Map<String, String> labels, String datacenter,
                            boolean external) {}

    private final URI base;
    private final Duration wait;
    private final HttpClient http;
    private final ScheduledExecutorService executor;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    /** Touched on the executor only. */
    private final Map<String, List<Instance>> instances = new TreeMap<>();
    private final Map<String, Long> serviceIndex = new HashMap<>();
    /** The watch loop of each service in the catalog, by a token that a newer loop replaces. */
    private final Map<String, Object> watching = new ConcurrentHashMap<>();
    private long catalogIndex;
    private boolean catalogRead;
    private volatile List<Service> services = List.of();
    private volatile List<Endpoint> endpoints = List.of();
    private volatile boolean synced;
    private volatile boolean closed;

    /**
     * Starts watching the Consul agent or server at {@code base} ({@code http://host:port}); returns at once.
     *
     * @param wait how long Consul may hold each blocking query ({@link #DEFAULT_WAIT} is Consul-friendly)
     */
    public ConsulServiceRegistry(URI base, Duration wait) {
        String b = Objects.requireNonNull(base, "base").toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        if (wait.isNegative() || wait.isZero()) {
            throw new IllegalArgumentException("wait: " + wait + " (expected: > 0)");
        }
        this.wait = wait;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "consul-registry-" + this.base.getAuthority());
            t.setDaemon(true);
            return t;
        });
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).executor(executor).build();
        executor.execute(() -> watchCatalog(0, Duration.ZERO));
    }

    @Override
    public String name() {
        return "consul://" + base.getAuthority();
    }

    @Override
    public List<Service> services() {
        return services;
    }

    @Override
    public List<Endpoint> endpoints() {
        return endpoints;
    }

    /** Returns whether the catalog and every service in it have been read once. */
    @Override
    public boolean hasSynced() {
        return synced;
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
    }

    private void watchCatalog(long index, Duration delay) {
        schedule(delay, () -> query("/v1/catalog/services?", index, (body, next) -> {
            if (!body.isObject()) {
                throw new IllegalArgumentException("catalog/services: " + abbreviate(body)
                        + " (expected: an object of service names)");
            }
            catalogIndex = next;
            catalogRead = true;
            List<String> names = new ArrayList<>();
            body.fieldNames().forEachRemaining(names::add);
            boolean changed = instances.keySet().retainAll(names);
            serviceIndex.keySet().retainAll(names);
            watching.keySet().retainAll(names);
            for (String n : names) {
                if (n.equals("consul")) {
                    continue; // Consul's own service
                }
                if (!watching.containsKey(n)) {
                    Object token = new Object();
                    watching.put(n, token);
                    watchService(n, token, 0, Duration.ZERO);
                }
            }
            if (changed) {
                publish();
            }
            checkSynced();
            watchCatalog(next, Duration.ZERO);
        }, backoff -> watchCatalog(0, backoff)));
    }

    private void watchService(String name, Object token, long index, Duration delay) {
        schedule(delay, () -> {
            if (watching.get(name) != token) {
                return; // left the catalog
            }
            query("/v1/health/service/" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20")
                    + "?passing&", index, (body, next) -> {
                if (watching.get(name) != token) {
                    return;
                }
                if (!body.isArray()) {
                    throw new IllegalArgumentException("health/service/" + name + ": " + abbreviate(body)
                            + " (expected: an array of entries)");
                }
                List<Instance> list = new ArrayList<>();
                for (JsonNode entry : body) {
                    Instance i = instance(entry);
                    if (i != null) {
                        list.add(i);
                    }
                }
                serviceIndex.put(name, next);
                List<Instance> before = instances.put(name, List.copyOf(list));
                if (!list.equals(before)) {
                    publish();
                }
                checkSynced();
                watchService(name, token, next, Duration.ZERO);
            }, backoff -> watchService(name, token, 0, backoff));
        });
    }

    private static Instance instance(JsonNode entry) {
        JsonNode node = entry.path("Node");
        JsonNode svc = entry.path("Service");
        String address = svc.path("Address").asText("");
        if (address.isEmpty()) {
            address = node.path("Address").asText("");
        }
        int port = svc.path("Port").asInt(0);
        if (address.isEmpty() || port < 1 || port > 65535) {
            return null;
        }
        Map<String, String> labels = new TreeMap<>();
        for (Map.Entry<String, JsonNode> m : svc.path("Meta").properties()) {
            labels.put(m.getKey(), m.getValue().asText());
        }
        for (JsonNode tag : svc.path("Tags")) {
            String t = tag.asText("");
            int bar = t.indexOf('|');
            if (bar > 0) {
                labels.put(t.substring(0, bar), t.substring(bar + 1));
            }
        }
        String protocol = svc.path("Meta").path("protocol").asText("");
        if (protocol.isEmpty()) {
            protocol = node.path("Meta").path("protocol").asText("");
        }
        String dc = node.path("Datacenter").asText("");
        boolean external = !node.path("Meta").path("external").asText("").isEmpty();
        return new Instance(address, port, protocol.isEmpty() ? "http" : protocol, labels, dc, external);
    }

    /** Istio's protocol of a Consul port name ({@code convertProtocol}): a known protocol, else TCP. */
    static String protocol(String name) {
        String known = Protocols.parse(name);
        return known.isEmpty() ? "TCP" : known;
    }

    private void publish() {
        List<Service> outServices = new ArrayList<>();
        List<Endpoint> outEndpoints = new ArrayList<>();
        for (Map.Entry<String, List<Instance>> e : instances.entrySet()) {
            String host = e.getKey() + ".service.consul";
            Map<Integer, ServicePort> ports = new LinkedHashMap<>();
            boolean external = false;
            java.util.Set<String> portNames = new java.util.HashSet<>();
            for (Instance i : e.getValue()) {
                String portName = ports.containsKey(i.port()) || portNames.add(i.protocol()) ? i.protocol()
                        : i.protocol() + "-" + i.port();
                ServicePort p = new ServicePort(portName, i.port(), protocol(i.protocol()), i.port());
                ServicePort existing = ports.putIfAbsent(i.port(), p);
                if (existing != null && !existing.protocol().equals(p.protocol())) {
                    logger.warn("{}: {} port {} has protocols {} and {}; keeping the first", name(), e.getKey(),
                            i.port(), existing.protocol(), p.protocol());
                    continue;
                }
                external |= i.external();
                outEndpoints.add(new Endpoint(host, ports.get(i.port()).name(), i.address(), i.port(), i.labels(),
                        i.datacenter(), 1, "", ""));
            }
            outServices.add(new Service(host, "default", List.copyOf(ports.values()), external ? "NONE" : "STATIC",
                    external, List.of(), name()));
        }
        List<Service> s = List.copyOf(outServices);
        List<Endpoint> ep = List.copyOf(outEndpoints);
        if (s.equals(services) && ep.equals(endpoints)) {
            return;
        }
        services = s;
        endpoints = ep;
        for (Listener l : listeners) {
            l.onChange(this);
        }
    }

    private void checkSynced() {
        if (!synced && catalogRead && serviceIndex.keySet().containsAll(watching.keySet())) {
            synced = true;
            logger.info("{}: synced; {} services", name(), instances.size());
        }
    }

    @FunctionalInterface
    private interface Handler {
        void accept(JsonNode body, long nextIndex) throws Exception;
    }

    private final Map<String, Duration> backoffs = new HashMap<>();

    /**
     * Runs a (blocking) query at {@code index}; on success calls {@code handler} with the body and the index
     * for the next query (reset to 0 when it went backwards or is below 1); on failure calls {@code retry} with
     * the back-off to wait.
     */
    private void query(String pathAndQuery, long index, Handler handler, java.util.function.Consumer<Duration> retry) {
        if (closed) {
            return;
        }
        String uri = base + pathAndQuery + (index > 0 ? "index=" + index + "&wait=" + wait.toMillis() + "ms" : "");
        HttpRequest request = HttpRequest.newBuilder(URI.create(uri))
                .timeout(wait.plus(wait.dividedBy(16)).plusSeconds(5)).GET().build();
        http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).whenCompleteAsync((response, error) -> {
            if (closed) {
                return;
            }
            try {
                if (error != null) {
                    throw error instanceof Exception ex ? ex : new RuntimeException(error);
                }
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("HTTP " + response.statusCode());
                }
                if (response.body().length > MAX_RESPONSE_BYTES) {
                    throw new IllegalStateException(response.body().length + " bytes (expected: <= "
                            + MAX_RESPONSE_BYTES + ")");
                }
                long next = response.headers().firstValueAsLong("X-Consul-Index").orElse(0);
                if (next < index || next < 1) {
                    logger.info("{}: X-Consul-Index of {} went from {} to {}; reading it again in full", name(),
                            pathAndQuery, index, next);
                    next = 0;
                }
                handler.accept(JSON.readTree(response.body()), next);
                backoffs.remove(pathAndQuery);
            } catch (Exception e) {
                Duration last = backoffs.get(pathAndQuery);
                Duration backoff = last == null ? Duration.ofMillis(100)
                        : last.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : last.multipliedBy(2);
                backoffs.put(pathAndQuery, backoff);
                if (last == null || backoff.equals(MAX_BACKOFF) && !last.equals(MAX_BACKOFF)) {
                    logger.warn("{}: GET {} failed ({}); keeping the last known instances, retrying", name(),
                            pathAndQuery, e.toString());
                }
                retry.accept(backoff);
            }
        }, executor);
    }

    private void schedule(Duration delay, Runnable task) {
        if (closed) {
            return;
        }
        try {
            if (delay.isZero()) {
                executor.execute(task);
            } else {
                executor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}

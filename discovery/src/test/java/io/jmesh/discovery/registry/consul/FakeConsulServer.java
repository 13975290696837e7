package io.jmesh.discovery.registry.consul;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

/**
 * A FAKE Consul: a small real HTTP server (the JDK's, on port 0 of 127.0.0.1) serving the two read endpoints
 * of Consul's HTTP API that the registry uses, with Consul's documented blocking-query semantics. Consul
 * itself cannot be installed here.
 * <ul>
 *   <li>{@code GET /v1/catalog/services} → {@code {"name": [tags...]}};</li>
 *   <li>{@code GET /v1/health/service/<name>[?passing]} → {@code [{"Node": {...}, "Service": {...},
 *       "Checks": [...]}]}, only instances whose checks pass with {@code passing}.</li>
 * </ul>
 * Every answer carries {@code X-Consul-Index}, the Raft index of the last change to what it returns. A query
 * with {@code ?index=N} is held while that index is still {@code <= N}, until a change or {@code wait}
 * ({@code 10s}, {@code 500ms}, {@code 5m}; 5 minutes by default) passes. Changes come from the test through
 * {@link #register}, {@link #setPassing} and {@link #deregister}. {@link #restart} stops the server (dropping
 * held queries), starts it again on the same port with its Raft index reset, as a Consul restored from an
 * older snapshot would.
 */
final class FakeConsulServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Instance(String id, String service, String node, String nodeAddress, String datacenter,
                            Map<String, String> nodeMeta, String address, int port, List<String> tags,
                            Map<String, String> meta, boolean passing) {}

    private final Map<String, Instance> instances = new LinkedHashMap<>();
    private final Map<String, Long> serviceIndex = new HashMap<>();
    private long index = 1;
    private long catalogIndex = 1;
    private boolean stopped;
    private long rewinds;
    private HttpServer server;
    private ExecutorService threads;
    private int port;

    FakeConsulServer() throws IOException {
        start(0);
    }

    private void start(int bindPort) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", bindPort), 0);
        threads = Executors.newCachedThreadPool();
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
        port = server.getAddress().getPort();
        synchronized (this) {
            stopped = false;
        }
    }

    int port() {
        return port;
    }

    /** Registers (or replaces) instance {@code id} of {@code service} on {@code node} of {@code datacenter}. */
    synchronized void register(String id, String service, String node, String datacenter, Map<String, String> nodeMeta,
                               String address, int port, List<String> tags, Map<String, String> meta, boolean passing) {
        Instance old = instances.put(id, new Instance(id, service, node, "10.0.0.1", datacenter, nodeMeta, address,
                port, tags, meta, passing));
        changed(service, old == null || !old.tags().equals(tags));
    }

    /** Sets whether instance {@code id}'s checks pass. */
    synchronized void setPassing(String id, boolean passing) {
        Instance i = instances.get(id);
        instances.put(id, new Instance(i.id(), i.service(), i.node(), i.nodeAddress(), i.datacenter(), i.nodeMeta(),
                i.address(), i.port(), i.tags(), i.meta(), passing));
        changed(i.service(), false);
    }

    synchronized void deregister(String id) {
        Instance i = instances.remove(id);
        changed(i.service(), true);
    }

    private void changed(String service, boolean catalog) {
        index++;
        serviceIndex.put(service, index);
        if (catalog) {
            catalogIndex = index;
        }
        notifyAll();
    }

    /** Stops, resets the Raft index to {@code 2} (below any index seen before) and starts on the same port. */
    void restart() throws IOException {
        synchronized (this) {
            stopped = true;
            notifyAll();
        }
        server.stop(0);
        threads.shutdownNow();
        synchronized (this) {
            index = 2;
            catalogIndex = 2;
            serviceIndex.replaceAll((k, v) -> 2L);
        }
        start(port);
    }

    /**
     * Resets the Raft index to {@code 2} while serving, and answers the held queries at once (as after a
     * leader restored from an older snapshot): their clients see the index go backwards.
     */
    synchronized void rewind() {
        index = 2;
        catalogIndex = 2;
        serviceIndex.replaceAll((k, v) -> 2L);
        rewinds++;
        notifyAll();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            if (!exchange.getRequestMethod().equals("GET")) {
                reply(exchange, 405, "method not allowed", 0);
                return;
            }
            long wanted = query.containsKey("index") ? Long.parseLong(query.get("index")) : 0;
            long waitMillis = query.containsKey("wait") ? millis(query.get("wait")) : 300_000;
            if (path.equals("/v1/catalog/services")) {
                long idx = block(null, wanted, waitMillis);
                ObjectNode body = JSON.createObjectNode();
                synchronized (this) {
                    Map<String, TreeSet<String>> tags = new TreeMap<>();
                    tags.put("consul", new TreeSet<>());
                    for (Instance i : instances.values()) {
                        tags.computeIfAbsent(i.service(), k -> new TreeSet<>()).addAll(i.tags());
                    }
                    tags.forEach((k, v) -> v.forEach(body.putArray(k)::add));
                }
                reply(exchange, 200, body.toString(), idx);
            } else if (path.startsWith("/v1/health/service/")) {
                String name = URLDecoder.decode(path.substring("/v1/health/service/".length()), StandardCharsets.UTF_8);
                long idx = block(name, wanted, waitMillis);
                ArrayNode body = JSON.createArrayNode();
                synchronized (this) {
                    for (Instance i : instances.values()) {
                        if (!i.service().equals(name) || (query.containsKey("passing") && !i.passing())) {
                            continue;
                        }
                        ObjectNode e = body.addObject();
                        ObjectNode node = e.putObject("Node");
                        node.put("Node", i.node()).put("Address", i.nodeAddress()).put("Datacenter", i.datacenter());
                        i.nodeMeta().forEach(node.putObject("Meta")::put);
                        ObjectNode svc = e.putObject("Service");
                        svc.put("ID", i.id()).put("Service", i.service()).put("Address", i.address())
                                .put("Port", i.port());
                        i.tags().forEach(svc.putArray("Tags")::add);
                        ObjectNode meta = svc.putObject("Meta");
                        i.meta().forEach(meta::put);
                        e.putArray("Checks").addObject().put("CheckID", "serfHealth")
                                .put("Status", i.passing() ? "passing" : "critical");
                    }
                }
                reply(exchange, 200, body.toString(), idx);
            } else {
                reply(exchange, 404, "no such endpoint", 0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            reply(exchange, 400, e.toString(), 0);
        }
    }

    /** Holds until the index of {@code service} (or the catalog's, for null) passes {@code wanted}, or the wait. */
    private synchronized long block(String service, long wanted, long waitMillis)
            throws InterruptedException, IOException {
        long deadline = System.nanoTime() + waitMillis * 1_000_000;
        long rewindsAtStart = rewinds;
        while (true) {
            long current = service == null ? catalogIndex : serviceIndex.getOrDefault(service, catalogIndex);
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (stopped) {
                // Going down: the connection drops without an answer, as when Consul's process exits.
                throw new IOException("stopping");
            }
            if (wanted == 0 || current > wanted || left <= 0 || rewinds != rewindsAtStart) {
                return current;
            }
            wait(left);
        }
    }

    private static void reply(HttpExchange exchange, int status, String body, long index) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        if (index > 0) {
            exchange.getResponseHeaders().set("X-Consul-Index", Long.toString(index));
        }
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    private static long millis(String wait) {
        if (wait.endsWith("ms")) {
            return Long.parseLong(wait.substring(0, wait.length() - 2));
        }
        long n = Long.parseLong(wait.substring(0, wait.length() - 1));
        return switch (wait.charAt(wait.length() - 1)) {
            case 's' -> n * 1000;
            case 'm' -> n * 60_000;
            default -> throw new IllegalArgumentException("wait: " + wait);
        };
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null) {
            return out;
        }
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            out.put(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1),
                    StandardCharsets.UTF_8));
        }
        return out;
    }

    @Override
    public void close() {
        synchronized (this) {
            stopped = true;
            notifyAll();
        }
        server.stop(0);
        threads.shutdownNow();
    }
}

package io.jmesh.discovery.registry.nacos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake Nacos naming server: no real Nacos can run here, so this serves the two calls of Nacos's
 * open HTTP API v1 that {@link NacosServiceRegistry} makes, with the JSON shapes Nacos answers:
 * {@code GET /nacos/v1/ns/service/list?pageNo&pageSize} ({@code {"count", "doms"}}) and
 * {@code GET /nacos/v1/ns/instance/list?serviceName} ({@code {"name", "hosts": [...]}}). Services
 * and instances are set by the test; {@link #failWith} makes every call answer an HTTP error.
 * Bound to 127.0.0.1, port 0.
 */
final class FakeNacosServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final Map<String, List<Map<String, Object>>> services = new ConcurrentHashMap<>();
    private final AtomicInteger instanceListCalls = new AtomicInteger();
    private volatile int failStatus;

    FakeNacosServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/nacos/v1/ns/service/list", ex -> handle(ex, this::serviceList));
        server.createContext("/nacos/v1/ns/instance/list", ex -> handle(ex, this::instanceList));
        server.start();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Sets the instances of {@code serviceName} (in DEFAULT_GROUP); an empty list keeps the service. */
    void setInstances(String serviceName, List<Map<String, Object>> instances) {
        services.put(serviceName, List.copyOf(instances));
    }

    void removeService(String serviceName) {
        services.remove(serviceName);
    }

    /** Makes every call answer {@code status} (0: answer normally again). */
    void failWith(int status) {
        failStatus = status;
    }

    int instanceListCalls() {
        return instanceListCalls.get();
    }

    /** An instance as Nacos lists it. */
    static Map<String, Object> instance(String ip, int port, double weight, boolean healthy,
                                        Map<String, String> metadata) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("instanceId", ip + "#" + port + "#DEFAULT#DEFAULT_GROUP@@svc");
        m.put("ip", ip);
        m.put("port", port);
        m.put("weight", weight);
        m.put("healthy", healthy);
        m.put("enabled", true);
        m.put("ephemeral", true);
        m.put("clusterName", "DEFAULT");
        m.put("metadata", metadata);
        return m;
    }

    private interface Handler {
        Object answer(Map<String, String> query);
    }

    private void handle(HttpExchange ex, Handler handler) throws IOException {
        try (ex) {
            int fail = failStatus;
            byte[] body;
            int status;
            if (fail != 0) {
                status = fail;
                body = "server is DOWN now, please try again later!".getBytes(StandardCharsets.UTF_8);
            } else {
                status = 200;
                body = JSON.writeValueAsBytes(handler.answer(query(ex.getRequestURI())));
            }
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(status, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private Object serviceList(Map<String, String> query) {
        int pageNo = Integer.parseInt(query.getOrDefault("pageNo", "1"));
        int pageSize = Integer.parseInt(query.getOrDefault("pageSize", "10"));
        List<String> names = new ArrayList<>(new java.util.TreeSet<>(services.keySet()));
        int from = Math.min(names.size(), (pageNo - 1) * pageSize);
        int to = Math.min(names.size(), from + pageSize);
        return Map.of("count", names.size(), "doms", names.subList(from, to));
    }

    private Object instanceList(Map<String, String> query) {
        instanceListCalls.incrementAndGet();
        String name = query.getOrDefault("serviceName", "");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", "DEFAULT_GROUP@@" + name);
        out.put("groupName", "DEFAULT_GROUP");
        out.put("clusters", "");
        out.put("cacheMillis", 10000);
        out.put("hosts", services.getOrDefault(name, List.of()));
        return out;
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> q = new LinkedHashMap<>();
        String raw = uri.getRawQuery();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    q.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

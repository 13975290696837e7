package io.jmesh.discovery.debug;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigError;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.server.AdsService;
import io.jmesh.discovery.server.ProxyStatus;
import io.jmesh.discovery.server.XdsMetrics;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.TypeUrls;
import io.jmesh.discovery.xds.XdsGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * istiod's monitoring port: {@code /metrics} (Prometheus text), {@code /debug/syncz} (each
 * connected client's sent/ACKed versions per type, Istio's field names), {@code /debug/configz}
 * (accepted Istio objects and rejected ones with file, line and reason) and
 * {@code /debug/registryz} (services and endpoints). GET only; served on one thread of its own,
 * never on gRPC's or Netty's event loops.
 */
public final class MonitoringServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(MonitoringServer.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .setDefaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private final HttpServer server;
    private final ExecutorService executor;

    private MonitoringServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** The index page at {@code /}: each page with what it shows. */
    static final String INDEX = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>jmesh discovery</title></head><body>
            <h1>jmesh discovery</h1>
            <ul>
            <li><a href="/ready">/ready</a>: 200 once every registry has synced (readiness probe)</li>
            <li><a href="/dashboard">/dashboard</a>: the mesh as a live web page (graph, proxies' sync, config)</li>
            <li><a href="/metrics">/metrics</a>: discovery's own metrics (Prometheus text; pilot_xds_pushes, ...)</li>
            <li><a href="/debug/syncz">/debug/syncz</a>: every connected proxy and the sync state of each xDS type</li>
            <li><a href="/debug/configz">/debug/configz</a>: the Istio config objects read, with validation errors</li>
            <li><a href="/debug/registryz">/debug/registryz</a>: the services and endpoints of every registry</li>
            <li>/debug/config_dump?proxyID=ID: the xDS one proxy is sent (ID as in /debug/syncz)</li>
            <li>/debug/describe?pod=NAME.NAMESPACE or ?service=HOST[&amp;namespace=NS]: the services, routes, policies and
            mTLS mode that apply (jmesh x describe)</li>
            </ul>
            </body></html>
            """;

    /** Binds {@code address} (port 0 picks one) and starts serving. */
    public static MonitoringServer start(InetSocketAddress address, AdsService ads, XdsMetrics metrics,
                                         Supplier<MeshSnapshot> snapshot) throws IOException {
        HttpServer server = HttpServer.create(address, 64);
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "jmesh-monitoring");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        // readiness (Kubernetes probes): this server starts only once every registry and store has synced
        server.createContext("/ready", ex -> respond(ex, "text/plain; charset=utf-8", "ready\n"));
        server.createContext("/metrics", ex -> respond(ex, "text/plain; version=0.0.4; charset=utf-8",
                metrics.renderPrometheus()));
        server.createContext("/debug/syncz", ex -> respond(ex, "application/json", json(syncz(ads.statuses()))));
        server.createContext("/debug/configz", ex -> respond(ex, "application/json", json(configz(snapshot.get()))));
        server.createContext("/debug/registryz", ex -> respond(ex, "application/json",
                json(registryz(snapshot.get()))));
        server.createContext("/debug/config_dump", ex -> {
            String id = query(ex.getRequestURI().getRawQuery()).get("proxyID");
            ProxyNode proxy = id == null ? null : ads.proxy(id);
            if (proxy == null) {
                respond(ex, 404, "text/plain; charset=utf-8",
                        "proxyID: " + id + " (expected: the node id of a connected client, see /debug/syncz)\n");
                return;
            }
            respond(ex, 200, "application/json", configDump(proxy, snapshot.get()));
        });
        server.createContext("/dashboard", ex -> respond(ex, "text/html; charset=utf-8", Dashboard.HTML));
        server.createContext("/debug/dashboardz", ex -> {
            List<ProxyStatus> statuses = ads.statuses();
            respond(ex, "application/json",
                    json(Dashboard.model(snapshot.get(), statuses, connected(ads, statuses))));
        });
        server.createContext("/debug/describe", ex -> {
            Map<String, String> q = query(ex.getRequestURI().getRawQuery());
            MeshSnapshot snap = snapshot.get();
            List<ProxyNode> connected = connected(ads, ads.statuses());
            if (q.containsKey("pod")) {
                String pod = q.get("pod");
                List<String> known = new ArrayList<>();
                for (ProxyNode p : connected) {
                    String name = p.name() + "." + p.namespace();
                    if (name.equals(pod) || p.id().equals(pod)) {
                        respond(ex, 200, "application/json", json(Describe.pod(p, snap, connected)));
                        return;
                    }
                    known.add(name);
                }
                respond(ex, 404, "text/plain; charset=utf-8", "pod: " + pod + " (expected: NAME.NAMESPACE of a "
                        + "connected proxy: " + (known.isEmpty() ? "none is connected" : String.join(", ", known))
                        + ")\n");
                return;
            }
            if (q.containsKey("service")) {
                String host = MeshSnapshot.resolveShortName(q.get("service"), q.getOrDefault("namespace", "default"));
                Service s = snap.service(host);
                if (s == null) {
                    respond(ex, 404, "text/plain; charset=utf-8", "service: " + host
                            + " (expected: a host of /debug/registryz)\n");
                    return;
                }
                respond(ex, 200, "application/json", json(Describe.service(s, snap, connected)));
                return;
            }
            respond(ex, 400, "text/plain; charset=utf-8",
                    "query: " + ex.getRequestURI().getRawQuery() + " (expected: pod=NAME.NAMESPACE or service=HOST)\n");
        });
        // "/" is the index of the pages above; every other unknown path is a 404 naming the index.
        server.createContext("/", ex -> {
            if (!ex.getRequestURI().getPath().equals("/")) {
                respond(ex, 404, "text/plain; charset=utf-8",
                        ex.getRequestURI().getPath() + ": no such page (see / for the list)\n");
                return;
            }
            respond(ex, 200, "text/html; charset=utf-8", INDEX);
        });
        server.start();
        logger.info("monitoring on http://{}:{}/", server.getAddress().getHostString(), server.getAddress().getPort());
        return new MonitoringServer(server, executor);
    }

    /** The node of each client in {@code statuses} that is still connected, in their order. */
    private static List<ProxyNode> connected(AdsService ads, List<ProxyStatus> statuses) {
        List<ProxyNode> out = new ArrayList<>();
        for (ProxyStatus st : statuses) {
            ProxyNode p = ads.proxy(st.nodeId());
            if (p != null) {
                out.add(p);
            }
        }
        return out;
    }

    /** The parameters of a raw query string, URL-decoded; the last of a repeated name wins. */
    private static Map<String, String> query(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw != null) {
            for (String kv : raw.split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    out.put(java.net.URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                            java.net.URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return out;
    }

    /** Returns the bound address. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    static List<Map<String, Object>> syncz(List<ProxyStatus> statuses) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ProxyStatus s : statuses) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("proxy", s.nodeId());
            m.put("proxy_type", s.proxyType());
            m.put("connection_id", s.connectionId());
            m.put("delta", s.delta());
            m.put("connected_at", s.connectedAt().toString());
            String[][] names = {{"cds", "cluster"}, {"lds", "listener"}, {"rds", "route"}, {"eds", "endpoint"}};
            for (String[] n : names) {
                ProxyStatus.TypeStatus t = s.types().get(n[0]);
                if (t == null) {
                    continue;
                }
                m.put(n[1] + "_sent", t.sentVersion());
                m.put(n[1] + "_acked", t.ackedVersion());
                m.put(n[1] + "_nonce", t.sentNonce());
                m.put(n[1] + "_state", t.state());
                m.put(n[1] + "_resources", t.resourceCount());
                if (t.lastNackMessage() != null) {
                    m.put(n[1] + "_nacked", t.nackedVersion());
                    m.put(n[1] + "_nack_message", t.lastNackMessage());
                }
            }
            out.add(m);
        }
        return out;
    }

    static Map<String, Object> configz(MeshSnapshot snapshot) {
        List<Map<String, Object>> configs = new ArrayList<>();
        for (Config<?> c : snapshot.config().configs()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("apiVersion", c.meta().apiVersion());
            m.put("kind", c.meta().kind().kindName());
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("name", c.meta().name());
            meta.put("namespace", c.meta().namespace());
            if (!c.meta().labels().isEmpty()) {
                meta.put("labels", c.meta().labels());
            }
            m.put("metadata", meta);
            m.put("spec", c.spec());
            m.put("source", String.valueOf(c.meta().source()));
            configs.add(m);
        }
        List<Map<String, Object>> errors = new ArrayList<>();
        for (ConfigError e : snapshot.config().errors()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", e.source().file() == null ? null : e.source().file().toString());
            m.put("line", e.source().line());
            m.put("object", e.key());
            m.put("reason", e.reason());
            errors.add(m);
        }
        List<Map<String, Object>> notApplied = new ArrayList<>();
        List<Map<String, Object>> warnings = new ArrayList<>();
        for (io.jmesh.discovery.config.ConfigWarning w : snapshot.config().warnings()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", w.source().file() == null ? null : w.source().file().toString());
            m.put("line", w.source().line());
            m.put("object", w.key());
            m.put("reason", w.message());
            (w.applied() ? warnings : notApplied).add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("version", snapshot.version());
        out.put("configs", configs);
        out.put("errors", errors);
        out.put("notApplied", notApplied);
        out.put("warnings", warnings);
        return out;
    }

    static List<Map<String, Object>> registryz(MeshSnapshot snapshot) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Service s : snapshot.services().values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("hostname", s.hostname());
            m.put("namespace", s.namespace());
            m.put("registry", s.registry());
            m.put("resolution", s.resolution());
            m.put("meshExternal", s.meshExternal());
            m.put("addresses", s.addresses());
            m.put("ports", s.ports());
            List<Endpoint> eps = snapshot.endpoints().getOrDefault(s.hostname(), List.of());
            m.put("endpoints", eps);
            out.add(m);
        }
        return out;
    }

    private static String json(Object o) throws IOException {
        return JSON.writeValueAsString(o) + "\n";
    }

    static String configDump(ProxyNode proxy, MeshSnapshot snapshot) throws IOException {
        // Proto field names, as Envoy's /config_dump prints them, so the two can be compared (jmesh proxy-status PROXY).
        JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(XdsGenerator.TYPE_REGISTRY)
                .preservingProtoFieldNames();
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, Message>> type : XdsGenerator.generateAll(proxy, snapshot).entrySet()) {
            List<Object> resources = new ArrayList<>();
            for (Message m : type.getValue().values()) {
                resources.add(JSON.readTree(printer.print(m)));
            }
            out.put(TypeUrls.shortName(type.getKey()), resources);
        }
        return json(out);
    }

    private static void respond(HttpExchange ex, String contentType, String body) throws IOException {
        respond(ex, 200, contentType, body);
    }

    private static void respond(HttpExchange ex, int status, String contentType, String body) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.sendResponseHeaders(status, ex.getRequestMethod().equals("HEAD") ? -1 : bytes.length);
            if (!ex.getRequestMethod().equals("HEAD")) {
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(bytes);
                }
            }
        } catch (RuntimeException e) {
            logger.warn("{} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            throw e;
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}

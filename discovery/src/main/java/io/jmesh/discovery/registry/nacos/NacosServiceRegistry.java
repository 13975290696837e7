package io.jmesh.discovery.registry.nacos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.registry.ServiceRegistry;
import io.jmesh.discovery.registry.rpc.ProviderUrl;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper.Catalog;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper.Provider;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services and endpoints from the providers that Dubbo registers in Nacos, read with Nacos's open
 * HTTP API v1 (<a href="https://nacos.io/docs/latest/manual/user/open-api/">Open API</a>), polled
 * every {@code pollInterval}:
 * <ol>
 *   <li>{@code GET /nacos/v1/ns/service/list?pageNo=N&pageSize=500[&namespaceId=ID]} →
 *       {@code {"count": n, "doms": [names]}}, page by page;</li>
 *   <li>for each name of the form {@code providers:<interface>:<version>:<group>} (Dubbo's),
 *       {@code GET /nacos/v1/ns/instance/list?serviceName=NAME[&namespaceId=ID]} →
 *       {@code {"hosts": [{"ip", "port", "weight", "healthy", "enabled", "metadata": {..}}]}}.</li>
 * </ol>
 * Each healthy, enabled instance is a provider whose URL parameters are its metadata (Dubbo
 * stores its URL parameters there, with {@code protocol}); version and group come from the
 * service name when the metadata lacks them, and the weight is Nacos's weight times 100 (so that
 * Nacos's default 1.0 equals Dubbo's default 100). Services are then mapped by
 * {@link RpcServiceMapper}. Other services (not {@code providers:}) are ignored. Only the default
 * group ({@code DEFAULT_GROUP}) is read; no authentication.
 *
 * <p>Availability: a failed poll (Nacos down, a bad answer) keeps the last known services and
 * endpoints, logs at WARN (at most once a minute) and shows in {@link #status()}; the next poll
 * tries again. Limits: at most {@value #MAX_SERVICES} services and answers of at most
 * {@value #MAX_RESPONSE_BYTES} bytes.
 *
 * <p>Thread-safety: all methods may be called from any thread; polls and listeners run on the
 * registry's own thread.
 */
public final class NacosServiceRegistry implements ServiceRegistry {

    private static final Logger logger = LoggerFactory.getLogger(NacosServiceRegistry.class);

    /** How often Nacos is polled by default. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

    /** The most services read from one Nacos. */
    public static final int MAX_SERVICES = 10_000;

    /** The largest answer read from Nacos. */
    public static final int MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

    private static final int PAGE_SIZE = 500;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration ERROR_LOG_INTERVAL = Duration.ofMinutes(1);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The outcome of the last poll.
     *
     * @param healthy whether the last poll succeeded
     * @param since   when the registry last became healthy or unhealthy
     * @param detail  a short explanation for people
     */
    public record Status(boolean healthy, Instant since, String detail) {}

    private final URI baseUri;
    private final String namespaceId;
    private final HttpClient http;
    private final ScheduledExecutorService executor;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile Catalog catalog = Catalog.EMPTY;
    private volatile Status status = new Status(false, Instant.now(), "not polled yet");
    private long lastErrorLogNanos;

    /**
     * Starts polling Nacos at {@code baseUri} ({@code http://host:port}) every {@code pollInterval}.
     * Returns at once.
     *
     * @param namespaceId the Nacos namespace, or {@code ""} (or {@code null}) for the public one
     */
    public NacosServiceRegistry(URI baseUri, String namespaceId, Duration pollInterval) {
        Objects.requireNonNull(baseUri, "baseUri");
        String base = baseUri.toString();
        this.baseUri = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
        this.namespaceId = namespaceId == null ? "" : namespaceId;
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new IllegalArgumentException("pollInterval: " + pollInterval + " (expected: > 0)");
        }
        this.http = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT).build();
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nacos-registry-" + this.baseUri.getAuthority());
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(this::poll, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public String name() {
        return "nacos://" + baseUri.getAuthority() + (namespaceId.isEmpty() ? "" : "?namespace=" + namespaceId);
    }

    /** Returns the outcome of the last poll. */
    public Status status() {
        return status;
    }

    @Override
    public List<Service> services() {
        return catalog.services();
    }

    @Override
    public List<Endpoint> endpoints() {
        return catalog.endpoints();
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Stops polling. */
    @Override
    public void close() {
        executor.shutdownNow();
    }

    private void poll() {
        try {
            List<Provider> providers = new ArrayList<>();
            for (String name : serviceNames()) {
                if (name.startsWith("providers:")) {
                    readInstances(name, providers);
                }
            }
            Catalog next = RpcServiceMapper.build(providers, name());
            if (!status.healthy()) {
                status = new Status(true, Instant.now(), "polling");
                logger.info("{}: reachable; {} services", name(), next.services().size());
            }
            if (!next.equals(catalog)) {
                catalog = next;
                for (Listener l : listeners) {
                    l.onChange(this);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            Catalog c = catalog;
            if (status.healthy() || status.detail().equals("not polled yet")) {
                status = new Status(false, Instant.now(), "poll failed (" + e.getMessage() + "); keeping the last "
                        + "known " + c.services().size() + " services and " + c.endpoints().size() + " endpoints");
            }
            long now = System.nanoTime();
            if (lastErrorLogNanos == 0 || now - lastErrorLogNanos >= ERROR_LOG_INTERVAL.toNanos()) {
                lastErrorLogNanos = now;
                logger.warn("{}: {}", name(), status.detail());
            }
        }
    }

    private Set<String> serviceNames() throws IOException, InterruptedException {
        Set<String> names = new LinkedHashSet<>();
        for (int page = 1; names.size() < MAX_SERVICES; page++) {
            JsonNode body = get("/nacos/v1/ns/service/list?pageNo=" + page + "&pageSize=" + PAGE_SIZE);
            JsonNode doms = body.path("doms");
            if (!doms.isArray()) {
                throw new IOException("service/list: " + abbreviate(body) + " (expected: {\"count\": n, \"doms\": [...]})");
            }
            for (JsonNode d : doms) {
                if (d.isTextual() && names.size() < MAX_SERVICES) {
                    names.add(d.asText());
                }
            }
            if (doms.size() < PAGE_SIZE || names.size() >= body.path("count").asInt(0)) {
                break;
            }
        }
        return names;
    }

    private void readInstances(String serviceName, List<Provider> out) throws IOException, InterruptedException {
        // providers:<interface>:<version>:<group>; version and group may be empty.
        String[] parts = serviceName.split(":", -1);
        if (parts.length < 2 || parts[1].isEmpty()) {
            return;
        }
        String iface = parts[1];
        String version = parts.length > 2 ? parts[2] : "";
        String group = parts.length > 3 ? parts[3] : "";
        JsonNode body = get("/nacos/v1/ns/instance/list?serviceName="
                + URLEncoder.encode(serviceName, StandardCharsets.UTF_8));
        JsonNode hosts = body.path("hosts");
        if (!hosts.isArray()) {
            throw new IOException("instance/list " + serviceName + ": " + abbreviate(body)
                    + " (expected: {\"hosts\": [...]})");
        }
        for (JsonNode h : hosts) {
            if (!h.path("healthy").asBoolean(true) || !h.path("enabled").asBoolean(true)) {
                continue;
            }
            Map<String, String> params = new HashMap<>();
            for (Map.Entry<String, JsonNode> e : h.path("metadata").properties()) {
                params.put(e.getKey(), e.getValue().asText());
            }
            if (!version.isEmpty()) {
                params.putIfAbsent("version", version);
            }
            if (!group.isEmpty()) {
                params.putIfAbsent("group", group);
            }
            params.put("weight", String.valueOf(Math.round(h.path("weight").asDouble(1.0) * 100)));
            String protocol = params.getOrDefault("protocol", "dubbo");
            String ip = h.path("ip").asText("");
            int port = h.path("port").asInt(0);
            if (ip.isEmpty() || port < 1 || port > 65535) {
                logger.debug("{}: skipping an instance of {}: {}:{}", name(), serviceName, ip, port);
                continue;
            }
            out.add(new Provider(iface, new ProviderUrl(protocol, ip, port, iface, params)));
        }
    }

    private JsonNode get(String pathAndQuery) throws IOException, InterruptedException {
        String uri = baseUri + pathAndQuery + (namespaceId.isEmpty() ? ""
                : "&namespaceId=" + URLEncoder.encode(namespaceId, StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(uri)).timeout(REQUEST_TIMEOUT).GET().build();
        HttpResponse<java.io.InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (java.io.InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("GET " + pathAndQuery + ": HTTP " + response.statusCode());
            }
            byte[] body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
            if (body.length > MAX_RESPONSE_BYTES) {
                throw new IOException("GET " + pathAndQuery + ": more than " + MAX_RESPONSE_BYTES
                        + " bytes (expected: <= " + MAX_RESPONSE_BYTES + ")");
            }
            return JSON.readTree(body);
        }
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}

package io.jmesh.cli.istioctl;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.cli.istioctl.Http.CommandException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jmesh proxy-status [PROXY]}: istioctl's {@code proxy-status}. Without PROXY, every proxy connected to
 * discovery with the sync state of each xDS type (SYNCED, NOT SENT, STALE, NACKED), from discovery's
 * {@code /debug/syncz}. With PROXY and {@code --admin}, the proxy's own config ({@code /config_dump} of its admin)
 * compared with what discovery would send it now ({@code /debug/config_dump?proxyID=}), per type.
 */
@Command(name = "proxy-status", aliases = "ps", mixinStandardHelpOptions = true,
        description = "Retrieves the synchronization status of each proxy from jmesh discovery, or compares one "
                + "proxy's config with discovery's (istioctl proxy-status).")
public final class ProxyStatusCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROXY",
            description = "A proxy: its name.namespace (as listed) or its node id.")
    String proxy;

    @Option(names = {"--discovery-address", "-d"}, defaultValue = "127.0.0.1:15014", paramLabel = "HOST:PORT",
            description = "jmesh discovery's monitoring address (default: ${DEFAULT-VALUE}).")
    String discovery;

    @Option(names = "--admin", paramLabel = "HOST:PORT",
            description = "The admin address of PROXY (its --admin-port), to read its config for the comparison.")
    String admin;

    @Override
    public Integer call() {
        return Http.print(() -> {
            JsonNode syncz = Http.getJson(discovery, "/debug/syncz", "jmesh discovery");
            if (proxy == null) {
                return table(syncz, discovery);
            }
            String id = resolve(syncz, proxy);
            if (admin == null) {
                throw new CommandException("--admin: missing (expected: the admin HOST:PORT of " + proxy
                        + ", to read its config)");
            }
            JsonNode expected = Http.getJson(discovery, "/debug/config_dump?proxyID="
                    + java.net.URLEncoder.encode(id, java.nio.charset.StandardCharsets.UTF_8), "jmesh discovery");
            JsonNode actual = Http.getJson(admin, "/config_dump", "the proxy's admin");
            return compare(expected, actual);
        });
    }

    /** The table of every connected proxy, sorted by name. */
    static String table(JsonNode syncz, String discovery) {
        Table t = new Table(5, "NAME", "CLUSTER", "CDS", "LDS", "EDS", "RDS", "ECDS", "ISTIOD", "VERSION");
        List<JsonNode> proxies = new ArrayList<>();
        syncz.forEach(proxies::add);
        proxies.sort((a, b) -> name(a.path("proxy").asText()).compareTo(name(b.path("proxy").asText())));
        for (JsonNode p : proxies) {
            t.row(name(p.path("proxy").asText()), p.path("cluster_id").asText("Kubernetes"),
                    state(p, "cluster"), state(p, "listener"), state(p, "endpoint"), state(p, "route"), "NOT SENT",
                    "jmesh-discovery@" + discovery, p.path("version").asText("-"));
        }
        return t.toString();
    }

    private static String state(JsonNode p, String type) {
        String s = p.path(type + "_state").asText("");
        return s.isEmpty() ? "NOT SENT" : s;
    }

    /** {@code name.namespace} of an Istio node id ({@code sidecar~IP~name.ns~ns.svc.cluster.local}), else the id. */
    static String name(String nodeId) {
        String[] parts = nodeId.split("~");
        return parts.length == 4 ? parts[2] : nodeId;
    }

    private static String resolve(JsonNode syncz, String proxy) throws CommandException {
        List<String> known = new ArrayList<>();
        for (JsonNode p : syncz) {
            String id = p.path("proxy").asText();
            if (id.equals(proxy) || name(id).equals(proxy)) {
                return id;
            }
            known.add(name(id));
        }
        throw new CommandException("proxy " + proxy + " is not connected to jmesh discovery (connected: "
                + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
    }

    /**
     * Per type, whether the proxy's dynamic resources equal discovery's, as istioctl prints it
     * ({@code Clusters Match}, {@code Listeners Don't Match} with the names that differ).
     */
    static String compare(JsonNode expected, JsonNode configDump) {
        Map<String, JsonNode> clusters = new LinkedHashMap<>();
        Map<String, JsonNode> listeners = new LinkedHashMap<>();
        Map<String, JsonNode> routes = new LinkedHashMap<>();
        for (JsonNode c : configDump.path("configs")) {
            String type = c.path("@type").asText();
            if (type.endsWith("ClustersConfigDump")) {
                for (JsonNode d : c.path("dynamic_active_clusters")) {
                    put(clusters, d.path("cluster"));
                }
            } else if (type.endsWith("ListenersConfigDump")) {
                for (JsonNode d : c.path("dynamic_listeners")) {
                    put(listeners, d.path("active_state").path("listener"));
                }
            } else if (type.endsWith("RoutesConfigDump")) {
                for (JsonNode d : c.path("dynamic_route_configs")) {
                    put(routes, d.path("route_config"));
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(section("Clusters", byName(expected.path("cds")), clusters));
        out.append(section("Listeners", byName(expected.path("lds")), listeners));
        out.append(section("Routes", byName(expected.path("rds")), routes));
        return out.toString();
    }

    private static void put(Map<String, JsonNode> into, JsonNode resource) {
        if (resource.isObject()) {
            com.fasterxml.jackson.databind.node.ObjectNode copy = resource.deepCopy();
            copy.remove("@type");
            into.put(copy.path("name").asText(), copy);
        }
    }

    private static Map<String, JsonNode> byName(JsonNode list) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode r : list) {
            put(out, r);
        }
        return out;
    }

    private static String section(String kind, Map<String, JsonNode> expected, Map<String, JsonNode> actual) {
        TreeSet<String> missing = new TreeSet<>();
        TreeSet<String> extra = new TreeSet<>();
        TreeSet<String> differ = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : expected.entrySet()) {
            JsonNode a = actual.get(e.getKey());
            if (a == null) {
                missing.add(e.getKey());
            } else if (!a.equals(e.getValue())) {
                differ.add(e.getKey());
            }
        }
        for (Iterator<String> it = actual.keySet().iterator(); it.hasNext(); ) {
            String n = it.next();
            if (!expected.containsKey(n)) {
                extra.add(n);
            }
        }
        if (missing.isEmpty() && extra.isEmpty() && differ.isEmpty()) {
            return kind + " Match\n";
        }
        StringBuilder sb = new StringBuilder(kind + " Don't Match\n");
        missing.forEach(n -> sb.append("  - ").append(n).append(" (discovery sends it; the proxy does not have it)\n"));
        extra.forEach(n -> sb.append("  + ").append(n).append(" (the proxy has it; discovery no longer sends it)\n"));
        differ.forEach(n -> sb.append("  ~ ").append(n).append(" (differs)\n"));
        return sb.toString();
    }
}

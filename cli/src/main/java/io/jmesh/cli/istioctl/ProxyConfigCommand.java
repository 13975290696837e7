package io.jmesh.cli.istioctl;

import java.io.IOException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.jmesh.cli.istioctl.Http.CommandException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jmesh proxy-config TYPE PROXY}: istioctl's {@code proxy-config}, reading one proxy's admin
 * ({@code /config_dump}, {@code /clusters}). PROXY is the proxy's admin address {@code HOST:PORT} (on one
 * machine there is no pod name to resolve; {@code jmesh proxy} prints it as {@code admin on HOST:PORT}).
 * {@code -o short} (default) prints istioctl's table; {@code -o json} and {@code -o yaml} print the resources.
 */
@Command(name = "proxy-config", aliases = "pc", mixinStandardHelpOptions = true,
        description = "Retrieves information about a proxy's configuration from its admin (istioctl proxy-config).",
        subcommands = {ProxyConfigCommand.Clusters.class, ProxyConfigCommand.Listeners.class,
                ProxyConfigCommand.Routes.class, ProxyConfigCommand.Endpoints.class,
                ProxyConfigCommand.Secrets.class, ProxyConfigCommand.Bootstrap.class, ProxyConfigCommand.Log.class,
                ProxyConfigCommand.All.class})
public final class ProxyConfigCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "missing the type (expected: cluster, listener, route, endpoint, secret, bootstrap, log or all)");
    }

    /** What every type shares: the proxy's admin address and the output format. */
    abstract static class Base implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "PROXY", description = "The proxy's admin address, HOST:PORT.")
        String proxy;

        @Option(names = {"-o", "--output"}, defaultValue = "short", paramLabel = "FORMAT",
                description = "Output format: short, json or yaml (default: ${DEFAULT-VALUE}).")
        String output;

        @Override
        public final Integer call() {
            return Http.print(() -> {
                if (!List.of("short", "json", "yaml").contains(output)) {
                    throw new CommandException("--output: " + output + " (expected: short, json or yaml)");
                }
                return render();
            });
        }

        abstract String render() throws CommandException;

        JsonNode configDump() throws CommandException {
            return Http.getJson(proxy, "/config_dump", "the proxy's admin");
        }

        /** The {@code configs} entry of {@code /config_dump} whose type ends with {@code suffix}. */
        JsonNode section(JsonNode dump, String suffix) {
            for (JsonNode c : dump.path("configs")) {
                if (c.path("@type").asText().endsWith(suffix)) {
                    return c;
                }
            }
            return Http.JSON.createObjectNode();
        }

        String structured(JsonNode resources) throws CommandException {
            try {
                if (output.equals("yaml")) {
                    return new YAMLMapper().writeValueAsString(resources);
                }
                return Http.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(resources) + "\n";
            } catch (IOException e) {
                throw new CommandException("cannot print the config: " + e.getMessage());
            }
        }
    }

    @Command(name = "cluster", aliases = {"clusters", "c"}, mixinStandardHelpOptions = true,
            description = "Retrieves the cluster configuration of a proxy.")
    static final class Clusters extends Base {
        @Option(names = "--fqdn", description = "Only clusters of this service FQDN.")
        String fqdn;
        @Option(names = "--port", defaultValue = "0", description = "Only clusters of this port.")
        int port;
        @Option(names = "--subset", description = "Only clusters of this subset.")
        String subset;
        @Option(names = "--direction", description = "Only clusters of this direction (inbound or outbound).")
        String direction;

        @Override
        String render() throws CommandException {
            JsonNode s = section(configDump(), "ClustersConfigDump");
            ArrayNode all = Http.JSON.createArrayNode();
            s.path("static_clusters").forEach(c -> all.add(c.path("cluster")));
            s.path("dynamic_active_clusters").forEach(c -> all.add(c.path("cluster")));
            ArrayNode kept = Http.JSON.createArrayNode();
            Table t = new Table(1, "SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE");
            for (JsonNode c : all) {
                String name = c.path("name").asText();
                String[] parts = name.split("\\|", -1);
                boolean istio = parts.length == 4;
                String svc = istio ? parts[3] : name;
                String p = istio ? parts[1] : "-";
                String sub = istio ? (parts[2].isEmpty() ? "-" : parts[2]) : "-";
                String dir = istio ? parts[0] : "-";
                if ((fqdn != null && !fqdn.equals(svc)) || (port != 0 && !String.valueOf(port).equals(p))
                        || (subset != null && !subset.equals(sub)) || (direction != null && !direction.equals(dir))) {
                    continue;
                }
                kept.add(c);
                String type = c.has("type") ? c.path("type").asText()
                        : c.has("cluster_type") ? c.path("cluster_type").path("name").asText() : "EDS";
                t.row(svc, p, sub, dir, type, destinationRule(c));
            }
            return output.equals("short") ? t.toString() : structured(kept);
        }

        /** Istio's {@code istio.config} metadata of the cluster as {@code name.namespace}, or "-". */
        private static String destinationRule(JsonNode c) {
            String config = c.path("metadata").path("filter_metadata").path("istio").path("config").asText("");
            String[] p = config.split("/");
            return p.length >= 2 ? p[p.length - 1] + "." + p[p.length - 3] : "-";
        }
    }

    @Command(name = "listener", aliases = {"listeners", "l"}, mixinStandardHelpOptions = true,
            description = "Retrieves the listener configuration of a proxy.")
    static final class Listeners extends Base {
        @Option(names = "--port", defaultValue = "0", description = "Only listeners of this port.")
        int port;
        @Option(names = "--address", description = "Only listeners of this address.")
        String address;

        @Override
        String render() throws CommandException {
            JsonNode s = section(configDump(), "ListenersConfigDump");
            ArrayNode all = Http.JSON.createArrayNode();
            s.path("static_listeners").forEach(l -> all.add(l.path("listener")));
            s.path("dynamic_listeners").forEach(l -> all.add(l.path("active_state").path("listener")));
            ArrayNode kept = Http.JSON.createArrayNode();
            Table t = new Table(1, "ADDRESSES", "PORT", "MATCH", "DESTINATION");
            for (JsonNode l : all) {
                JsonNode sa = l.path("address").path("socket_address");
                String addr = sa.path("address").asText("-");
                String p = sa.path("port_value").asText("0");
                if ((port != 0 && !String.valueOf(port).equals(p)) || (address != null && !address.equals(addr))) {
                    continue;
                }
                kept.add(l);
                for (JsonNode fc : l.path("filter_chains")) {
                    t.row(addr, p, match(fc.path("filter_chain_match")), destination(fc.path("filters")));
                }
                if (l.path("filter_chains").isEmpty()) {
                    t.row(addr, p, "ALL", "-");
                }
            }
            return output.equals("short") ? t.toString() : structured(kept);
        }

        private static String match(JsonNode m) {
            List<String> parts = new ArrayList<>();
            if (m.has("destination_port")) {
                parts.add("Port: " + m.path("destination_port").asText());
            }
            if (m.has("server_names")) {
                List<String> names = new ArrayList<>();
                m.path("server_names").forEach(n -> names.add(n.asText()));
                parts.add("SNI: " + String.join(",", names));
            }
            if (m.has("transport_protocol")) {
                parts.add("Trans: " + m.path("transport_protocol").asText());
            }
            if (m.has("application_protocols")) {
                List<String> names = new ArrayList<>();
                m.path("application_protocols").forEach(n -> names.add(n.asText()));
                parts.add("App: " + String.join(",", names));
            }
            if (m.has("prefix_ranges")) {
                List<String> ranges = new ArrayList<>();
                m.path("prefix_ranges").forEach(r -> ranges.add(r.path("address_prefix").asText() + "/"
                        + r.path("prefix_len").asText("32")));
                parts.add("Addr: " + String.join(",", ranges));
            }
            return parts.isEmpty() ? "ALL" : String.join("; ", parts);
        }

        private static String destination(JsonNode filters) {
            for (JsonNode f : filters) {
                JsonNode c = f.path("typed_config");
                switch (f.path("name").asText()) {
                    case "envoy.filters.network.tcp_proxy" -> {
                        return "Cluster: " + c.path("cluster").asText("weighted");
                    }
                    case "envoy.filters.network.http_connection_manager" -> {
                        if (c.has("rds")) {
                            return "Route: " + c.path("rds").path("route_config_name").asText();
                        }
                        return "Inline Route: " + c.path("route_config").path("name").asText("/*");
                    }
                    default -> {
                        // policy filters (rbac, stats, ...) come before the terminal one
                    }
                }
                if (f.path("name").asText().endsWith("rpc_proxy")) {
                    return "RPC: " + c.path("value").path("protocol").asText("?") + " "
                            + c.path("value").path("stat_prefix").asText("");
                }
            }
            return filters.isEmpty() ? "-" : filters.get(filters.size() - 1).path("name").asText();
        }
    }

    @Command(name = "route", aliases = {"routes", "r"}, mixinStandardHelpOptions = true,
            description = "Retrieves the route configuration of a proxy.")
    static final class Routes extends Base {
        @Option(names = "--name", description = "Only the route configuration of this name.")
        String name;

        @Override
        String render() throws CommandException {
            JsonNode s = section(configDump(), "RoutesConfigDump");
            ArrayNode kept = Http.JSON.createArrayNode();
            Table t = new Table(1, "NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE");
            List<JsonNode> configs = new ArrayList<>();
            s.path("static_route_configs").forEach(r -> configs.add(r.path("route_config")));
            s.path("dynamic_route_configs").forEach(r -> configs.add(r.path("route_config")));
            for (JsonNode rc : configs) {
                String rcName = rc.path("name").asText();
                if (name != null && !name.equals(rcName)) {
                    continue;
                }
                kept.add(rc);
                for (JsonNode vh : rc.path("virtual_hosts")) {
                    JsonNode domains = vh.path("domains");
                    String d = domains.isEmpty() ? "-" : domains.get(0).asText()
                            + (domains.size() > 1 ? " + " + (domains.size() - 1) + " more..." : "");
                    for (JsonNode r : vh.path("routes")) {
                        t.row(rcName, vh.path("name").asText(), d, match(r.path("match")), virtualService(r));
                    }
                }
            }
            return output.equals("short") ? t.toString() : structured(kept);
        }

        private static String match(JsonNode m) {
            if (m.has("prefix")) {
                return m.path("prefix").asText() + "*";
            }
            if (m.has("path")) {
                return m.path("path").asText();
            }
            if (m.has("safe_regex")) {
                return m.path("safe_regex").path("regex").asText();
            }
            if (m.has("path_separated_prefix")) {
                return m.path("path_separated_prefix").asText() + "/*";
            }
            return "/*";
        }

        private static String virtualService(JsonNode r) {
            String config = r.path("metadata").path("filter_metadata").path("istio").path("config").asText("");
            String[] p = config.split("/");
            return p.length >= 3 ? p[p.length - 1] + "." + p[p.length - 3] : "-";
        }
    }

    @Command(name = "endpoint", aliases = {"endpoints", "ep"}, mixinStandardHelpOptions = true,
            description = "Retrieves the endpoints of a proxy's clusters, with their health (from /clusters).")
    static final class Endpoints extends Base {
        @Option(names = "--cluster", description = "Only endpoints of this cluster.")
        String cluster;
        @Option(names = "--status", description = "Only endpoints of this status (healthy or unhealthy).")
        String status;

        @Override
        String render() throws CommandException {
            String text = Http.get(proxy, "/clusters", "the proxy's admin");
            Map<String, Map<String, String>> flags = new LinkedHashMap<>();
            for (String line : text.split("\n")) {
                String[] p = line.split("::");
                if (p.length == 4 && p[2].equals("health_flags")) {
                    flags.computeIfAbsent(p[0], k -> new LinkedHashMap<>()).put(p[1], p[3]);
                }
            }
            Table t = new Table(1, "ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER");
            ArrayNode kept = Http.JSON.createArrayNode();
            for (Map.Entry<String, Map<String, String>> c : flags.entrySet()) {
                if (cluster != null && !cluster.equals(c.getKey())) {
                    continue;
                }
                for (Map.Entry<String, String> h : c.getValue().entrySet()) {
                    String f = h.getValue();
                    String st = f.contains("failed_active_hc") || f.contains("failed_eds_health") ? "UNHEALTHY" : "HEALTHY";
                    if (status != null && !status.equalsIgnoreCase(st)) {
                        continue;
                    }
                    String outlier = f.contains("failed_outlier_check") ? "FAILED" : "OK";
                    t.row(h.getKey(), st, outlier, c.getKey());
                    kept.add(Http.JSON.createObjectNode().put("cluster", c.getKey()).put("address", h.getKey())
                            .put("health_flags", f));
                }
            }
            return output.equals("short") ? t.toString() : structured(kept);
        }
    }

    @Command(name = "secret", aliases = {"secrets", "s"}, mixinStandardHelpOptions = true,
            description = "Retrieves the secrets (certificates) of a proxy.")
    static final class Secrets extends Base {
        private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT;

        @Override
        String render() throws CommandException {
            JsonNode s = section(configDump(), "SecretsConfigDump");
            ArrayNode kept = Http.JSON.createArrayNode();
            Table t = new Table(1, "RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER",
                    "NOT BEFORE");
            for (String list : List.of("static_secrets", "dynamic_active_secrets", "dynamic_warming_secrets")) {
                for (JsonNode e : s.path(list)) {
                    kept.add(e);
                    JsonNode secret = e.path("secret");
                    String status = list.equals("dynamic_warming_secrets") ? "WARMING" : "ACTIVE";
                    if (secret.has("tls_certificate")) {
                        row(t, e.path("name").asText(), "Cert Chain", status,
                                secret.path("tls_certificate").path("certificate_chain"));
                    } else if (secret.has("validation_context")) {
                        row(t, e.path("name").asText(), "CA", status,
                                secret.path("validation_context").path("trusted_ca"));
                    } else {
                        t.row(e.path("name").asText(), "-", status, "false", "-", "-", "-");
                    }
                }
            }
            return output.equals("short") ? t.toString() : structured(kept);
        }

        private static void row(Table t, String name, String type, String status, JsonNode source) {
            X509Certificate cert = firstCertificate(source);
            if (cert == null) {
                t.row(name, type, status, "false", "-", "-", "-");
                return;
            }
            boolean valid;
            try {
                cert.checkValidity();
                valid = true;
            } catch (CertificateException e) {
                valid = false;
            }
            t.row(name, type, status, String.valueOf(valid), cert.getSerialNumber().toString(16),
                    TIME.format(cert.getNotAfter().toInstant().atOffset(ZoneOffset.UTC)),
                    TIME.format(cert.getNotBefore().toInstant().atOffset(ZoneOffset.UTC)));
        }

        /** The first certificate of a DataSource: inline bytes (base64), inline string, or "[redacted]". */
        private static X509Certificate firstCertificate(JsonNode source) {
            byte[] pem;
            if (source.has("inline_bytes")) {
                pem = Base64.getDecoder().decode(source.path("inline_bytes").asText());
            } else if (source.has("inline_string")) {
                pem = source.path("inline_string").asText().getBytes(StandardCharsets.UTF_8);
            } else if (source.has("filename")) {
                try {
                    pem = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(source.path("filename").asText()));
                } catch (IOException e) {
                    return null;
                }
            } else {
                return null;
            }
            try {
                return (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(pem));
            } catch (CertificateException | IllegalArgumentException e) {
                return null;
            }
        }
    }

    @Command(name = "bootstrap", aliases = "b", mixinStandardHelpOptions = true,
            description = "Retrieves the bootstrap configuration of a proxy.")
    static final class Bootstrap extends Base {
        @Override
        String render() throws CommandException {
            JsonNode s = section(configDump(), "BootstrapConfigDump");
            if (output.equals("short")) {
                output = "json";
            }
            return structured(s);
        }
    }

    @Command(name = "log", aliases = "o", mixinStandardHelpOptions = true,
            description = "Retrieves the logging levels of a proxy, and changes them (the admin's /logging).")
    static final class Log implements Callable<Integer> {
        /** What --reset sets every logger to: the level jmesh proxy starts with. */
        static final String DEFAULT_LEVEL = "info";
        /** istioctl's name for "every logger" in --level. */
        private static final String ALL = "level";

        @Parameters(index = "0", paramLabel = "PROXY", description = "The proxy's admin address, HOST:PORT.")
        String proxy;

        @Option(names = "--level", paramLabel = "[LOGGER:]LEVEL,...",
                description = "Comma-separated minimum per-logger level of messages to output, as "
                        + "[<logger>:]<level>,[<logger>:]<level>,... or <level> to change all loggers; loggers as "
                        + "listed by `jmesh proxy-config log PROXY`; levels: trace, debug, info, warning, error, "
                        + "critical, off.")
        String level;

        @Option(names = {"-r", "--reset"}, description = "Reset every logger to the proxy's default level (info).")
        boolean reset;

        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", hidden = true)
        String output;

        @Override
        public Integer call() {
            return Http.print(() -> {
                if (output != null && !output.equals("short")) {
                    throw new CommandException("--output is not applicable for this command");
                }
                if (reset && level != null) {
                    throw new CommandException("--level cannot be combined with --reset");
                }
                String listing = Http.post(proxy, "/logging", "the proxy's admin");
                Map<String, String> changes = new LinkedHashMap<>();
                if (reset) {
                    changes.put(ALL, DEFAULT_LEVEL);
                } else if (level != null) {
                    List<String> known = loggers(listing);
                    for (String item : level.split(",")) {
                        String ol = item.strip();
                        if (ol.isEmpty()) {
                            continue;
                        }
                        String[] parts = ol.split("[:=]", 2);
                        if (parts.length == 1) {
                            changes.clear();
                            changes.put(ALL, checkLevel(ol));
                            continue;
                        }
                        if (!parts[0].equals(ALL) && !known.contains(parts[0])) {
                            throw new CommandException("unrecognized logger name: " + parts[0]);
                        }
                        changes.put(parts[0], checkLevel(parts[1]));
                    }
                }
                String response = listing;
                if (changes.containsKey(ALL)) {
                    response = Http.post(proxy, "/logging?level=" + changes.get(ALL), "the proxy's admin");
                }
                for (Map.Entry<String, String> c : changes.entrySet()) {
                    if (!c.getKey().equals(ALL)) {
                        response = Http.post(proxy, "/logging?" + c.getKey() + "=" + c.getValue(),
                                "the proxy's admin");
                    }
                }
                return proxy + ":\n" + response;
            });
        }

        private static String checkLevel(String level) throws CommandException {
            String l = level.strip();
            if (!List.of("trace", "debug", "info", "warning", "warn", "error", "critical", "off").contains(l)) {
                throw new CommandException("unrecognized logging level: " + l);
            }
            return l.equals("warn") ? "warning" : l;
        }

        /** The logger names of an {@code active loggers:} listing. */
        private static List<String> loggers(String listing) {
            List<String> names = new ArrayList<>();
            for (String line : listing.split("\n")) {
                if (line.startsWith("  ") && line.contains(":")) {
                    names.add(line.strip().substring(0, line.strip().indexOf(':')));
                }
            }
            return names;
        }
    }

    @Command(name = "all", aliases = "a", mixinStandardHelpOptions = true,
            description = "Retrieves all the configuration of a proxy: bootstrap, clusters, listeners, routes, "
                    + "secrets and endpoints.")
    static final class All extends Base {
        @Override
        String render() throws CommandException {
            if (!output.equals("short")) {
                return structured(configDump());
            }
            JsonNode info = Http.getJson(proxy, "/server_info", "the proxy's admin");
            StringBuilder sb = new StringBuilder("------ bootstrap info ------\n\n");
            sb.append("jmesh proxy version: ").append(info.path("version").asText("-")).append("\n\n");
            List<Map.Entry<String, Base>> parts = List.of(Map.entry("cluster", new Clusters()),
                    Map.entry("listener", new Listeners()), Map.entry("route", new Routes()),
                    Map.entry("secret", new Secrets()), Map.entry("endpoints", new Endpoints()));
            for (Map.Entry<String, Base> p : parts) {
                Base b = p.getValue();
                b.proxy = proxy;
                b.output = "short";
                sb.append("------ ").append(p.getKey()).append(" info ------\n\n").append(b.render()).append('\n');
            }
            return sb.toString();
        }
    }
}

package io.jmesh.cli.istioctl;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

import io.jmesh.cli.istioctl.Http.CommandException;
import io.jmesh.proxy.server.ProxyServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh bug-report}: istioctl's {@code bug-report}, one {@code .tar.gz} with what a maintainer asks for
 * first. Under {@code bug-report/}:
 * <ul>
 *   <li>{@code summary.txt}: when, which addresses, each connected proxy's sync state, what could not be read;</li>
 *   <li>{@code versions.txt}: this CLI's version and Java, each proxy's {@code /server_info} version;</li>
 *   <li>{@code discovery/}: every page discovery's monitoring index links ({@code metrics.txt},
 *       {@code debug/syncz.json}, {@code debug/configz.json}, {@code debug/registryz.json}, ...) and, per connected
 *       proxy, the config discovery would send it ({@code debug/config_dump/NAME.json});</li>
 *   <li>{@code proxies/NAME/}: for each proxy admin given ({@code --admin}), {@code config_dump.json},
 *       {@code stats.txt}, {@code stats_prometheus.txt}, {@code clusters.txt}, {@code server_info.json} and
 *       {@code logging.txt} (its log levels); NAME is the node's {@code name.namespace} from its bootstrap;</li>
 *   <li>{@code logs/}: the log files given ({@code --log}), their last {@value #LOG_TAIL_BYTES} bytes.</li>
 * </ul>
 * A part that cannot be read is listed in the summary and the archive is still written; only when nothing at all
 * can be read is it an error (exit 1).
 */
@Command(name = "bug-report", mixinStandardHelpOptions = true,
        description = "Collects discovery's debug pages, each proxy's config, stats and log levels, versions and "
                + "logs into one .tar.gz (istioctl bug-report).")
public final class BugReportCommand implements Callable<Integer> {

    /** The most of one log file kept (its end). */
    static final int LOG_TAIL_BYTES = 8 * 1024 * 1024;
    private static final Pattern LINK = Pattern.compile("href=\"(/[^\"?#]*)\"");

    @Option(names = {"--output", "-o"}, defaultValue = "bug-report.tar.gz", paramLabel = "FILE",
            description = "The archive to write (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = {"--discovery", "--discovery-address", "-d"}, defaultValue = "127.0.0.1:15014",
            paramLabel = "HOST:PORT", description = "jmesh discovery's monitoring address (default: ${DEFAULT-VALUE}).")
    String discovery;

    @Option(names = "--admin", paramLabel = "HOST:PORT",
            description = "A proxy's admin address (repeatable); on one machine discovery cannot tell them.")
    List<String> admins = new ArrayList<>();

    @Option(names = "--log", paramLabel = "FILE",
            description = "A log file to include (repeatable), e.g. the one `jmesh demo` names in its banner.")
    List<Path> logs = new ArrayList<>();

    private final Map<String, byte[]> entries = new LinkedHashMap<>();
    private final List<String> problems = new ArrayList<>();

    @Override
    public Integer call() {
        StringBuilder summary = new StringBuilder("jmesh bug report\n\n");
        summary.append("created:   ").append(Instant.now()).append('\n');
        summary.append("jmesh:     ").append(ProxyServer.VERSION).append(" (java ")
                .append(System.getProperty("java.version")).append(")\n");
        summary.append("discovery: ").append(discovery).append('\n');
        StringBuilder versions = new StringBuilder("jmesh CLI: " + ProxyServer.VERSION + " (java "
                + System.getProperty("java.version") + ", " + System.getProperty("java.vm.name") + ")\n");
        int read = 0;

        JsonNode syncz = null;
        String index = fetch(discovery, "/", "jmesh discovery");
        if (index != null) {
            read++;
            Set<String> pages = new LinkedHashSet<>(List.of("/metrics", "/debug/syncz", "/debug/configz",
                    "/debug/registryz"));
            Matcher m = LINK.matcher(index);
            while (m.find()) {
                pages.add(m.group(1));
            }
            pages.remove("/");
            for (String page : pages) {
                String body = fetch(discovery, page, "jmesh discovery");
                if (body != null) {
                    put("discovery" + fileName(page, body), body);
                }
            }
            try {
                String s = text("discovery/debug/syncz.json");
                syncz = s == null ? null : Http.JSON.readTree(s);
            } catch (IOException e) {
                problems.add("discovery /debug/syncz: not JSON (" + e.getMessage() + ")");
            }
        }
        summary.append("\nconnected proxies (discovery /debug/syncz):\n");
        if (syncz == null || syncz.isEmpty()) {
            summary.append("  none\n");
        } else {
            summary.append(indent(ProxyStatusCommand.table(syncz, discovery)));
            for (JsonNode p : syncz) {
                String id = p.path("proxy").asText();
                String body = fetch(discovery, "/debug/config_dump?proxyID="
                        + java.net.URLEncoder.encode(id, StandardCharsets.UTF_8), "jmesh discovery");
                if (body != null) {
                    put("discovery/debug/config_dump/" + safe(ProxyStatusCommand.name(id)) + ".json", body);
                }
            }
        }

        summary.append("\nproxy admins:\n");
        if (admins.isEmpty()) {
            summary.append("  none given (--admin HOST:PORT)\n");
        }
        for (String admin : admins) {
            String dump = fetch(admin, "/config_dump", "the proxy's admin");
            if (dump == null) {
                summary.append("  ").append(admin).append(": not reachable\n");
                continue;
            }
            read++;
            String name = nodeName(dump, admin);
            String dir = "proxies/" + safe(name) + "/";
            put(dir + "config_dump.json", dump);
            putIfRead(dir + "stats.txt", admin, "/stats");
            putIfRead(dir + "stats_prometheus.txt", admin, "/stats/prometheus");
            putIfRead(dir + "clusters.txt", admin, "/clusters");
            String info = putIfRead(dir + "server_info.json", admin, "/server_info");
            try {
                String logging = Http.post(admin, "/logging", "the proxy's admin");
                put(dir + "logging.txt", logging);
            } catch (CommandException e) {
                problems.add(e.getMessage());
            }
            String version = "-";
            if (info != null) {
                try {
                    version = Http.JSON.readTree(info).path("version").asText("-");
                } catch (IOException e) {
                    problems.add(admin + " /server_info: not JSON");
                }
            }
            versions.append("proxy ").append(name).append(" (").append(admin).append("): ").append(version)
                    .append('\n');
            summary.append("  ").append(admin).append(": ").append(name).append(" -> ").append(dir).append('\n');
        }

        for (Path log : logs) {
            try {
                byte[] all = Files.readAllBytes(log);
                int from = Math.max(0, all.length - LOG_TAIL_BYTES);
                entries.put("logs/" + safe(log.getFileName().toString()),
                        java.util.Arrays.copyOfRange(all, from, all.length));
                read++;
            } catch (IOException e) {
                problems.add("--log: " + log + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
            }
        }

        summary.append("\nnot collected:\n");
        if (problems.isEmpty()) {
            summary.append("  nothing\n");
        }
        problems.forEach(p -> summary.append("  ").append(p).append('\n'));
        if (read == 0) {
            problems.forEach(p -> System.err.println("Error: " + p));
            System.err.println("Error: nothing could be collected; no archive written");
            return 1;
        }
        Map<String, byte[]> ordered = new LinkedHashMap<>();
        ordered.put("summary.txt", summary.toString().getBytes(StandardCharsets.UTF_8));
        ordered.put("versions.txt", versions.toString().getBytes(StandardCharsets.UTF_8));
        ordered.putAll(entries);
        try {
            write(output, ordered);
        } catch (IOException e) {
            System.err.println("Error: --output: " + output + " (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + ")");
            return 1;
        }
        problems.forEach(p -> System.err.println("Warning: " + p));
        System.out.println("Wrote " + output + " (" + ordered.size() + " files)");
        return 0;
    }

    /** The body, or null with the reason kept for the summary. */
    private String fetch(String address, String path, String what) {
        try {
            return Http.get(address, path, what);
        } catch (CommandException e) {
            problems.add(e.getMessage());
            return null;
        }
    }

    private String putIfRead(String name, String address, String path) {
        String body = fetch(address, path, "the proxy's admin");
        if (body != null) {
            put(name, body);
        }
        return body;
    }

    private void put(String name, String body) {
        entries.put(name, body.getBytes(StandardCharsets.UTF_8));
    }

    private String text(String name) {
        byte[] b = entries.get(name);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /** {@code /debug/syncz} to {@code /debug/syncz.json}, {@code /metrics} to {@code /metrics.txt}, ... */
    static String fileName(String page, String body) {
        String b = body.stripLeading();
        String ext = b.startsWith("{") || b.startsWith("[") ? ".json" : b.startsWith("<") ? ".html" : ".txt";
        return page.replaceAll("[^A-Za-z0-9/_.-]", "_") + ext;
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9_.-]", "_");
    }

    private static String indent(String table) {
        StringBuilder sb = new StringBuilder();
        for (String line : table.split("\n")) {
            sb.append("  ").append(line).append('\n');
        }
        return sb.toString();
    }

    /** {@code name.namespace} of the node in a config dump's bootstrap, else the admin address. */
    private static String nodeName(String dump, String admin) {
        try {
            for (JsonNode c : Http.JSON.readTree(dump).path("configs")) {
                String id = c.path("bootstrap").path("node").path("id").asText("");
                if (!id.isEmpty()) {
                    return ProxyStatusCommand.name(id);
                }
            }
        } catch (IOException e) {
            // not JSON: named by its address
        }
        return admin;
    }

    private static void write(Path file, Map<String, byte[]> files) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file));
             TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(out))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            java.util.Date now = new java.util.Date();
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry("bug-report/" + e.getKey());
                entry.setSize(e.getValue().length);
                entry.setModTime(now);
                tar.putArchiveEntry(entry);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
    }
}

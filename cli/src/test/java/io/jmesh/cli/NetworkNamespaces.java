package io.jmesh.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import io.jmesh.cli.iptables.CommandRunner;

/**
 * Network namespaces ("pods") made for a test, each named {@code jmcap-<run>-<name>}, and the links between them, all
 * removed by {@link #close()}; {@link #removeStale()} removes what an earlier run left (every name starting with
 * {@value #PREFIX}). Root only; commands run with {@code ip}.
 */
public final class NetworkNamespaces implements AutoCloseable {

    public static final String PREFIX = "jmcap";

    private final String prefix;
    private final String run;
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> links = new ArrayList<>();

    public NetworkNamespaces(String run) {
        this(PREFIX, run);
    }

    /**
     * Namespaces named {@code <prefix>-<run>-<name>} (links {@code <prefix><run>...}): a test class with a prefix of
     * its own (five letters at most: link names have 15) cleans up only its own leftovers with
     * {@link #removeStale(String)}.
     */
    public NetworkNamespaces(String prefix, String run) {
        this.prefix = prefix;
        this.run = run;
    }

    /** Whether this process runs as root and has {@code ip}, {@code iptables-restore} and {@code setpriv}. */
    public static String missing() {
        try {
            if (!exec(List.of("id", "-u")).strip().equals("0")) {
                return "not root";
            }
        } catch (IOException e) {
            return "cannot run id: " + e.getMessage();
        }
        for (String tool : List.of("ip", "iptables", "iptables-save", "iptables-restore", "setpriv", "curl")) {
            try {
                exec(List.of("sh", "-c", "command -v " + tool));
            } catch (IOException e) {
                return tool + " is not installed";
            }
        }
        return null;
    }

    /** Deletes the namespaces, links and {@code /etc/netns} entries of earlier runs (names starting with jmcap). */
    public static void removeStale() throws IOException {
        removeStale(PREFIX);
    }

    /** Deletes the namespaces, links and {@code /etc/netns} entries whose names start with {@code prefix}. */
    public static void removeStale(String prefix) throws IOException {
        for (String line : exec(List.of("ip", "netns", "list")).split("\n")) {
            String name = line.split(" ")[0];
            if (name.startsWith(prefix + "-")) {
                execQuietly(List.of("ip", "netns", "del", name));
            }
        }
        for (String line : exec(List.of("ip", "-o", "link", "show")).split("\n")) {
            String[] parts = line.split(": ");
            if (parts.length > 1) {
                String name = parts[1].split("@")[0];
                if (name.startsWith(prefix)) {
                    execQuietly(List.of("ip", "link", "del", name));
                }
            }
        }
        Path etc = Path.of("/etc/netns");
        if (Files.isDirectory(etc)) {
            try (Stream<Path> s = Files.list(etc)) {
                for (Path p : s.filter(p -> p.getFileName().toString().startsWith(prefix + "-")).toList()) {
                    deleteTree(p);
                }
            }
        }
    }

    /** Creates namespace {@code jmcap-<run>-<name>} with {@code lo} up and the given {@code /etc/hosts}; its name. */
    public String add(String name, String hosts) throws IOException {
        String ns = prefix + "-" + run + "-" + name;
        exec(List.of("ip", "netns", "add", ns));
        namespaces.add(ns);
        exec(List.of("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"));
        Path dir = Path.of("/etc/netns", ns);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("hosts"), hosts, StandardCharsets.UTF_8);
        return ns;
    }

    /** Links two namespaces with a veth pair, {@code dev} in each, with the addresses (CIDR) given. */
    public void link(String nsA, String addrA, String nsB, String addrB, String dev) throws IOException {
        String a = prefix + run + "a" + links.size();
        String b = prefix + run + "b" + links.size();
        exec(List.of("ip", "link", "add", a, "type", "veth", "peer", "name", b));
        links.add(a);
        exec(List.of("ip", "link", "set", a, "netns", nsA));
        exec(List.of("ip", "link", "set", b, "netns", nsB));
        for (String[] end : new String[][] {{nsA, a, addrA}, {nsB, b, addrB}}) {
            in(end[0], "ip", "link", "set", end[1], "name", dev);
            in(end[0], "ip", "addr", "add", end[2], "dev", dev);
            in(end[0], "ip", "link", "set", dev, "up");
        }
    }

    /**
     * Links a namespace to the root namespace: {@code dev} in the namespace (no address of its own: it routes
     * {@code rootAddress} there) and a link in the root namespace that holds {@code rootAddress} (/32; the same on
     * every such link) and routes {@code nsAddress} back.
     */
    public void linkToRoot(String ns, String nsAddress, String rootAddress, String dev) throws IOException {
        String a = prefix + run + "r" + links.size();
        String b = prefix + run + "n" + links.size();
        exec(List.of("ip", "link", "add", a, "type", "veth", "peer", "name", b));
        links.add(a);
        exec(List.of("ip", "link", "set", b, "netns", ns));
        in(ns, "ip", "link", "set", b, "name", dev);
        in(ns, "ip", "link", "set", dev, "up");
        exec(List.of("ip", "addr", "add", rootAddress + "/32", "dev", a));
        exec(List.of("ip", "link", "set", a, "up"));
        exec(List.of("ip", "route", "add", nsAddress + "/32", "dev", a));
        in(ns, "ip", "route", "add", rootAddress + "/32", "dev", dev);
    }

    /**
     * Creates namespace {@code jmcap-<run>-<name>} holding a bridge {@code br0}: a switch that {@link #plug} connects
     * pods to, for more than two pods on one subnet. Its name.
     */
    public String addSwitch(String name) throws IOException {
        String ns = add(name, "127.0.0.1 localhost\n");
        in(ns, "ip", "link", "add", "br0", "type", "bridge");
        in(ns, "ip", "link", "set", "br0", "up");
        return ns;
    }

    /** Plugs a namespace into a switch of {@link #addSwitch}: {@code dev} in {@code ns} with {@code addr} (CIDR). */
    public void plug(String ns, String addr, String sw, String dev) throws IOException {
        String a = prefix + run + "p" + links.size();
        String b = prefix + run + "q" + links.size();
        exec(List.of("ip", "link", "add", a, "type", "veth", "peer", "name", b));
        links.add(a);
        exec(List.of("ip", "link", "set", a, "netns", ns));
        exec(List.of("ip", "link", "set", b, "netns", sw));
        in(sw, "ip", "link", "set", b, "master", "br0");
        in(sw, "ip", "link", "set", b, "up");
        in(ns, "ip", "link", "set", a, "name", dev);
        in(ns, "ip", "addr", "add", addr, "dev", dev);
        in(ns, "ip", "link", "set", dev, "up");
    }

    /** Runs a command inside a namespace; its standard output, or an exception with its error output. */
    public static String in(String ns, String... cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(cmd));
        return exec(all);
    }

    /**
     * Runs a command ({@link CommandRunner#local()}, as {@code jmesh iptables} does); its standard output, or an
     * exception with its exit code and error output.
     */
    public static String exec(List<String> cmd) throws IOException {
        CommandRunner.Result r = CommandRunner.local().run(cmd, "");
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + ": exit " + r.exit() + ": " + r.stderr().strip());
        }
        return r.stdout();
    }

    private static void execQuietly(List<String> cmd) {
        try {
            exec(cmd);
        } catch (IOException ignored) {
            // already gone
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    /** Deletes every namespace and link made here, and their {@code /etc/netns} entries. */
    @Override
    public void close() throws IOException {
        for (String l : links) {
            execQuietly(List.of("ip", "link", "del", l)); // veth ends moved into namespaces go with them
        }
        for (String ns : namespaces) {
            execQuietly(List.of("ip", "netns", "del", ns));
            deleteTree(Path.of("/etc/netns", ns));
        }
    }
}

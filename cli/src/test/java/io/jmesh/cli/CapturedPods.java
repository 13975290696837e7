package io.jmesh.cli;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

import io.jmesh.cli.iptables.CommandRunner;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.testing.Poll;
import picocli.CommandLine;

/**
 * "Pods" under transparent capture, for real, made for one test class: network namespaces ({@link NetworkNamespaces})
 * on one subnet {@code 10.<b>.<N>.} (N random), pod {@code i} at {@code .(i+2)}, each also linked to the root
 * namespace, where discovery runs in this JVM on {@code .254}; {@code jmesh iptables} rules applied inside a pod;
 * {@code jmesh proxy} sidecars run as UID 1337 following discovery; processes in pods, each with a log in the test's
 * directory. {@link #close()} stops the processes and discovery and removes the namespaces. Root only:
 * {@link #open} skips the calling test (with the reason) otherwise.
 */
public final class CapturedPods implements AutoCloseable {

    private final Path dir;
    private final String net;
    private final NetworkNamespaces namespaces;
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private DiscoveryServer discovery;

    private CapturedPods(Path dir, String net, NetworkNamespaces namespaces) {
        this.dir = dir;
        this.net = net;
        this.namespaces = namespaces;
    }

    /**
     * Skips the calling test unless root with the tools of {@link NetworkNamespaces#missing()}; removes what earlier
     * runs of {@code prefix} left ({@link NetworkNamespaces#removeStale(String)}); pods named
     * {@code <prefix>-<run>-<name>} on {@code 10.<secondOctet>.<random>.}, logs in {@code dir}.
     */
    public static CapturedPods open(String prefix, int secondOctet, Path dir) throws IOException {
        String missing = NetworkNamespaces.missing();
        Assumptions.assumeTrue(missing == null, () -> "transparent capture needs root, ip, iptables and setpriv: "
                + missing);
        NetworkNamespaces.removeStale(prefix);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return new CapturedPods(dir, "10." + secondOctet + "." + random.nextInt(100, 200) + ".",
                new NetworkNamespaces(prefix, Integer.toHexString(random.nextInt(0x1000, 0x10000))));
    }

    /** The subnet's prefix, {@code 10.<b>.<N>.} (ends with a dot). */
    public String net() {
        return net;
    }

    /** The address of pod {@code i} of {@link #pods}: {@code <net>(i+2)}. */
    public String address(int i) {
        return net + (i + 2);
    }

    /**
     * Creates one pod per name, in order, their {@code /etc/hosts} {@code 127.0.0.1 localhost <this machine's name>}
     * (Java asks for it, and a pod has no DNS server) then {@code hosts}; connects them on the subnet ({@code eth0}: a
     * veth pair for two pods, a switch for more) and each to the root namespace ({@code eth1}). Their namespaces.
     */
    public String[] pods(String hosts, String... names) throws IOException {
        String all = "127.0.0.1 localhost " + InetAddress.getLocalHost().getHostName() + "\n" + hosts;
        String[] pods = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            pods[i] = namespaces.add(names[i], all);
        }
        if (pods.length == 2) {
            namespaces.link(pods[0], address(0) + "/24", pods[1], address(1) + "/24", "eth0");
        } else {
            String sw = namespaces.addSwitch("sw");
            for (int i = 0; i < pods.length; i++) {
                namespaces.plug(pods[i], address(i) + "/24", sw, "eth0");
            }
        }
        for (int i = 0; i < pods.length; i++) {
            namespaces.linkToRoot(pods[i], address(i), net + "254", "eth1");
        }
        return pods;
    }

    /** Starts discovery on {@code <net>254} with {@code meshYaml} as its whole config. */
    public void discovery(String meshYaml) throws Exception {
        Path config = Files.createDirectories(dir.resolve("istio"));
        Files.writeString(config.resolve("mesh.yaml"), meshYaml, StandardCharsets.UTF_8);
        discovery = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress(net + "254", 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
    }

    /** {@code jmesh iptables <args>} with its commands run inside {@code ns}; the exit code. */
    public static int iptables(String ns, String... args) {
        IptablesCommand cmd = new IptablesCommand();
        cmd.runner = CommandRunner.prefixed(List.of("ip", "netns", "exec", ns));
        return new CommandLine(cmd).execute(args);
    }

    /**
     * Starts a {@code jmesh proxy} sidecar in {@code ns} as UID 1337 (with {@code setpriv}; it keeps
     * {@code CAP_DAC_READ_SEARCH} only to read the class path under {@code /root}, and in TPROXY mode
     * {@code CAP_NET_ADMIN} for its transparent sockets, as Istio's sidecar), following discovery as
     * {@code sidecar~<ip>~<pod>.default~default.svc.cluster.local} with {@code INTERCEPTION_MODE=<mode>} and label
     * {@code app=<app>}; admin on 15000. Log {@code <pod>-sidecar.log}.
     */
    public void sidecar(String ns, String ip, String pod, String app, String mode) throws IOException {
        String caps = mode.equals("TPROXY") ? "+dac_read_search,+net_admin" : "+dac_read_search";
        start(pod + "-sidecar", List.of("ip", "netns", "exec", ns, "setpriv", "--reuid=1337", "--regid=1337",
                "--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps, java(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=/tmp", "-cp", classPath(),
                Main.class.getName(), "proxy", "--discovery-address", net + "254:" + discovery.grpcAddress().getPort(),
                "--node-id", "sidecar~" + ip + "~" + pod + ".default~default.svc.cluster.local",
                "--node-metadata", "INTERCEPTION_MODE=" + mode, "--node-label", "app=" + app,
                "--admin-port", "15000", "--prometheus-port", "-1", "--status-port", "-1", "--concurrency", "1",
                "--drain-time", "0"));
    }

    /**
     * Starts {@code main} with {@code args} in {@code ns} ({@code java -Xmx32m}, class path the first
     * {@code test-classes} directory of this test's: the calling module's). Log {@code <name>.log}.
     */
    public void app(String ns, String name, Class<?> main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, java(), "-Xmx32m", "-cp",
                testClasses(), main.getName()));
        cmd.addAll(List.of(args));
        start(name, cmd);
    }

    private void start(String name, List<String> cmd) throws IOException {
        Path log = dir.resolve(name + ".log");
        logs.add(log);
        processes.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    private static String testClasses() {
        for (String entry : classPath().split(File.pathSeparator)) {
            if (entry.endsWith("test-classes")) {
                return entry;
            }
        }
        throw new IllegalStateException("no test-classes on " + classPath());
    }

    /** curl in a namespace: {@code [status, body]}; status 0 (the body curl's error) when curl could not connect. */
    public static String[] curl(String ns, String url) {
        try {
            String out = NetworkNamespaces.in(ns, "curl", "-sS", "-m", "10", "-w", "\n%{http_code}", url);
            int nl = out.lastIndexOf('\n');
            return new String[] {out.substring(nl + 1), out.substring(0, Math.max(nl, 0))};
        } catch (IOException e) {
            return new String[] {"0", e.getMessage()};
        }
    }

    /**
     * Curls {@code url} in {@code ns} until a 200 (the sidecars start, then follow discovery), for at most 120 s;
     * the answer, or an AssertionError with the last answer and the logs.
     */
    public String[] awaitOk(String ns, String url) throws InterruptedException {
        String[][] last = {curl(ns, url)};
        try {
            Poll.until(() -> last[0][0].equals("200") || (throttled() && (last[0] = curl(ns, url))[0].equals("200")),
                    "200 from " + url, Duration.ofSeconds(120));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + last[0][1] + "\n" + logs(), e);
        }
        return last[0];
    }

    /** Waits 250 ms and returns true: a poll of other processes not run back to back. */
    public static boolean throttled() {
        try {
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /** The body of {@code http://127.0.0.1:15000<path>} (the sidecar's admin) in a namespace; "" when unreachable. */
    public static String admin(String ns, String path) {
        try {
            return NetworkNamespaces.in(ns, "curl", "-sS", "-m", "5", "http://127.0.0.1:15000" + path);
        } catch (IOException e) {
            return "";
        }
    }

    /** The last 30 lines of each process's log. */
    public String logs() {
        StringBuilder sb = new StringBuilder();
        for (Path l : logs) {
            try {
                List<String> lines = Files.exists(l) ? Files.readAllLines(l) : List.of();
                sb.append("--- ").append(l.getFileName()).append('\n');
                lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(s -> sb.append(s).append('\n'));
            } catch (IOException e) {
                sb.append(e).append('\n');
            }
        }
        return sb.toString();
    }

    /** Stops the processes (SIGTERM, then SIGKILL after 10 s) and discovery; removes the namespaces. */
    @Override
    public void close() throws Exception {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (discovery != null) {
            discovery.close();
        }
        namespaces.close();
    }
}

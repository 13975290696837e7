package io.jmesh.benchmarks.discovery;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.XdsGenerator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A control-plane load tool like Istio's {@code pilot-load}: discovery with M generated services and
 * N simulated sidecars on ADS, measuring what issue 3 section 9 asks.
 *
 * <ol>
 *   <li>Writes the mesh with {@link MeshConfigGenerator} into a directory.</li>
 *   <li>Times {@link XdsGenerator#generateAll} for one sidecar, directly, many iterations.</li>
 *   <li>Starts discovery: by default as a separate JVM ({@link DiscoveryProcess}, {@code -Xmx} from
 *       {@code --discovery-xmx}) so that its heap is measured alone; {@code --in-process} runs it in
 *       this JVM (heap figures then include the clients); {@code --connect HOST:PORT} uses a running
 *       {@code jmesh discovery} that watches {@code --config-dir} (no heap figures).</li>
 *   <li>Opens N {@link SimulatedSidecar} streams over {@code --channels} gRPC channels and times
 *       each one's first full config (CDS, LDS, EDS and RDS received and ACKed).</li>
 *   <li>{@code --rounds} times: rewrites service 0's VirtualService with a new weight and times, per
 *       sidecar, file write → ACK of the RDS response carrying the new weight.</li>
 *   <li>Prints discovery's heap after a full GC and its RSS.</li>
 * </ol>
 *
 * <p>Every wait is bounded, and {@code --timeout-seconds} bounds the whole run (exit code 3). Only
 * 127.0.0.1 is used. Exit code 0 when every sidecar got its config and every change, 1 otherwise.
 * Run it with {@code benchmarks/scripts/pilot-load.sh}; options: {@link #USAGE}.
 */
public final class PilotLoad {

    private static final Logger logger = LoggerFactory.getLogger(PilotLoad.class);

    /** Returns the machine's 1, 5 and 15 minute load averages ({@code /proc/loadavg}), or "n/a". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    /** The command-line options, with their defaults. */
    public static final String USAGE = """
            usage: PilotLoad [--services 100] [--proxies 100] [--channels 4] [--client-threads 2]
                             [--rounds 5] [--round-timeout-seconds 60] [--timeout-seconds 600]
                             [--generation-iterations 200] [--connect-rate 0 (per second, 0: all at once)]
                             [--config-dir DIR]
                             [--discovery-xmx 1g] [--in-process | --connect 127.0.0.1:PORT]""";

    private final Map<String, String> options;
    private final PrintWriter out;

    private PilotLoad(Map<String, String> options, PrintWriter out) {
        this.options = options;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        int timeout = Integer.parseInt(options.getOrDefault("timeout-seconds", "600"));
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(timeout));
                System.err.println("pilot-load: timed out after " + timeout + " s");
                Runtime.getRuntime().halt(3);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "pilot-load-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        boolean ok = new PilotLoad(options, out).run();
        out.flush();
        System.exit(ok ? 0 : 1);
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("argument: " + a + " (expected: an option)\n" + USAGE);
            }
            String key = a.substring(2);
            if (key.equals("in-process") || key.equals("help")) {
                o.put(key, "true");
            } else if (i + 1 < args.length) {
                o.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException(a + ": missing value (expected: a value)\n" + USAGE);
            }
        }
        if (o.containsKey("help")) {
            System.out.println(USAGE);
            System.exit(0);
        }
        return o;
    }

    private int intOption(String key, int def) {
        String v = options.get(key);
        int n = v == null ? def : Integer.parseInt(v);
        if (n < 0) {
            throw new IllegalArgumentException(key + ": " + n + " (expected: >= 0)");
        }
        return n;
    }

    /** Runs the benchmark; returns whether every sidecar got its config and every change. */
    boolean run() throws Exception {
        int services = intOption("services", 100);
        int proxies = intOption("proxies", 100);
        int channels = Math.max(1, intOption("channels", 4));
        int clientThreads = Math.max(1, intOption("client-threads", 2));
        int rounds = intOption("rounds", 5);
        int roundTimeout = intOption("round-timeout-seconds", 60);
        int iterations = intOption("generation-iterations", 200);
        int connectRate = intOption("connect-rate", 0);
        MeshConfigGenerator gen = MeshConfigGenerator.of(services);
        Path dir = options.containsKey("config-dir") ? Path.of(options.get("config-dir"))
                : Files.createTempDirectory("pilot-load");
        gen.write(dir);
        out.printf("pilot-load: %d services (%d endpoints, %d VirtualServices), %d sidecars (%s), %d channels, "
                + "config in %s%n", services, gen.endpoints(), (services + 4) / 5, proxies,
                connectRate == 0 ? "connecting at once" : "connecting " + connectRate + "/s", channels, dir);

        measureGeneration(gen, dir, iterations);

        boolean ok = true;
        Discovery discovery = startDiscovery(dir);
        ExecutorService executor = Executors.newFixedThreadPool(clientThreads, r -> {
            Thread t = new Thread(r, "pilot-load-client");
            t.setDaemon(true);
            return t;
        });
        List<ManagedChannel> chans = new ArrayList<>();
        List<SimulatedSidecar> sidecars = new ArrayList<>();
        try {
            out.println("discovery: " + discovery.describe());
            out.println("discovery memory at start (after GC): " + discovery.stats());
            for (int i = 0; i < channels; i++) {
                chans.add(NettyChannelBuilder.forAddress(discovery.address()).usePlaintext()
                        .maxInboundMessageSize(256 * 1024 * 1024).executor(executor).build());
            }
            ResponseIndex index = new ResponseIndex(gen.host(0) + ':' + MeshConfigGenerator.PORT,
                    "outbound|" + MeshConfigGenerator.PORT + "|v1|" + gen.host(0));
            // One sidecar alone first: the time to its first config is mostly class loading and JIT
            // in both JVMs, reported apart so that it does not hide in the figures for all sidecars.
            CountDownLatch warm = new CountDownLatch(1);
            SimulatedSidecar first = new SimulatedSidecar(node(gen, proxies), index, warm, System.nanoTime());
            first.start(chans.get(0));
            warm.await(roundTimeout, TimeUnit.SECONDS);
            out.println("warm-up: one sidecar alone (cold JVMs) got its full config in " + ms(first.timeToReadyNanos())
                    + "; closed before the run");
            first.stop();
            quiet(List.of(first), 500, roundTimeout);
            out.println("discovery before connecting: " + discovery.progress());
            CountDownLatch ready = new CountDownLatch(proxies);
            long start = System.nanoTime();
            for (int k = 0; k < proxies; k++) {
                if (connectRate > 0) {
                    long due = start + k * 1_000_000_000L / connectRate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
                SimulatedSidecar s = new SimulatedSidecar(node(gen, k), index, ready, start);
                sidecars.add(s);
                s.start(chans.get(k % channels));
            }
            long readyDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(roundTimeout, 1) * 5L);
            boolean allReady = false;
            while (!allReady && System.nanoTime() < readyDeadline) {
                allReady = ready.await(10, TimeUnit.SECONDS);
                if (!allReady) {
                    out.printf("  ... %d/%d sidecars have their full config after %s; discovery %s%n",
                            proxies - ready.getCount(), proxies, ms(System.nanoTime() - start), discovery.progress());
                }
            }
            long[] readyNanos = sidecars.stream().mapToLong(SimulatedSidecar::timeToReadyNanos).filter(n -> n >= 0)
                    .toArray();
            out.printf("first full config: %d/%d sidecars in %s (per sidecar from start: %s)%n", readyNanos.length,
                    proxies, ms(readyNanos.length == 0 ? -1 : Arrays.stream(readyNanos).max().getAsLong()),
                    percentiles(readyNanos));
            if (!allReady) {
                ok = false;
                sidecars.stream().filter(s -> s.timeToReadyNanos() < 0).limit(3).forEach(s -> out.println(
                        "  not ready: " + s.id() + " responses=" + s.responses() + " error=" + s.error()));
            }
            out.println("discovery after connecting: " + discovery.progress());
            quiet(sidecars, 1000, roundTimeout);
            out.println("discovery memory with all sidecars connected (after GC): " + discovery.stats()
                    + "; load tool cpu=" + DiscoveryProcess.cpuMillis() + "ms; machine load " + loadAverage());

            List<Long> all = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                int weight = r % 2 == 0 ? 50 : 90;
                CountDownLatch changed = new CountDownLatch(proxies);
                sidecars.forEach(s -> s.expectWeight(weight, changed));
                long write = System.nanoTime();
                gen.writeVirtualService(dir, 0, weight);
                boolean done = changed.await(roundTimeout, TimeUnit.SECONDS);
                long[] lat = sidecars.stream().mapToLong(s -> s.changeLatencyNanos(write)).filter(n -> n >= 0).toArray();
                Arrays.stream(lat).forEach(all::add);
                out.printf("change %d (VirtualService svc-0 weight v1=%d): %d/%d sidecars ACKed; write -> ACK %s; "
                        + "discovery %s; load tool cpu=%dms; machine load %s%n", r + 1, weight, lat.length, proxies,
                        percentiles(lat), discovery.progress(), DiscoveryProcess.cpuMillis(), loadAverage());
                ok &= done;
                quiet(sidecars, 1000, roundTimeout);
            }
            if (rounds > 0) {
                out.printf("all changes (%d samples): write -> ACK %s%n", all.size(),
                        percentiles(all.stream().mapToLong(Long::longValue).toArray()));
            }
            out.println("discovery memory after the changes (after GC): " + discovery.stats());
            out.println("load tool (client) JVM: " + (discovery instanceof InProcess ? "same JVM as discovery"
                    : DiscoveryProcess.stats()));
        } finally {
            sidecars.forEach(SimulatedSidecar::stop);
            chans.forEach(ManagedChannel::shutdownNow);
            for (ManagedChannel c : chans) {
                c.awaitTermination(5, TimeUnit.SECONDS);
            }
            executor.shutdownNow();
            discovery.close();
        }
        return ok;
    }

    /** Waits until no sidecar received a response for {@code quietMillis}, at most {@code maxSeconds}. */
    private static void quiet(List<SimulatedSidecar> sidecars, long quietMillis, int maxSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(maxSeconds);
        long last = -1;
        long since = System.nanoTime();
        while (System.nanoTime() < deadline) {
            long total = sidecars.stream().mapToLong(SimulatedSidecar::responses).sum();
            if (total != last) {
                last = total;
                since = System.nanoTime();
            } else if (System.nanoTime() - since >= TimeUnit.MILLISECONDS.toNanos(quietMillis)) {
                return;
            }
            Thread.sleep(100);
        }
    }

    /** Times {@link XdsGenerator#generateAll} for sidecar 0, directly on the model, after a warm-up. */
    private void measureGeneration(MeshConfigGenerator gen, Path dir, int iterations) throws Exception {
        if (iterations == 0) {
            return;
        }
        MeshSnapshot snapshot = MeshConfigGenerator.load(dir);
        ProxyNode proxy = ProxyNode.of(node(gen, 0));
        Map<String, Map<String, Message>> config = XdsGenerator.generateAll(proxy, snapshot);
        for (int i = 0; i < iterations; i++) {
            config = XdsGenerator.generateAll(proxy, snapshot);
        }
        long[] t = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            long s = System.nanoTime();
            config = XdsGenerator.generateAll(proxy, snapshot);
            t[i] = System.nanoTime() - s;
        }
        StringBuilder sizes = new StringBuilder();
        long bytes = 0;
        for (Map.Entry<String, Map<String, Message>> e : config.entrySet()) {
            long b = e.getValue().values().stream().mapToLong(Message::getSerializedSize).sum();
            bytes += b;
            sizes.append(e.getKey().substring(e.getKey().lastIndexOf('.') + 1)).append('=')
                    .append(e.getValue().size()).append(" (").append(b / 1024).append(" KiB) ");
        }
        out.printf("one sidecar's full config: %sresources, %d KiB serialized; generation (%d runs after %d warm-up, "
                + "this JVM, single thread) %s%n", sizes, bytes / 1024, iterations, iterations, percentiles(t));
    }

    /** Returns sidecar {@code k}'s node: the workload at endpoint {@code k} (wrapping), Istio's id form and metadata. */
    static Node node(MeshConfigGenerator gen, int k) {
        int e = k % gen.endpoints();
        int svc = gen.serviceOfEndpoint(e);
        String ns = gen.namespace(svc);
        String ip = MeshConfigGenerator.address(e);
        Struct labels = Struct.newBuilder()
                .putFields("app", Value.newBuilder().setStringValue("svc-" + svc).build())
                .putFields("version", Value.newBuilder().setStringValue(gen.versionOfEndpoint(e)).build())
                .build();
        Struct md = Struct.newBuilder()
                .putFields("NAMESPACE", Value.newBuilder().setStringValue(ns).build())
                .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
                .putFields("CLUSTER_ID", Value.newBuilder().setStringValue("Kubernetes").build())
                .putFields("INSTANCE_IPS", Value.newBuilder().setStringValue(ip).build())
                .putFields("ISTIO_VERSION", Value.newBuilder().setStringValue("1.24.0").build())
                .build();
        return Node.newBuilder().setId("sidecar~" + ip + "~app-" + k + '.' + ns + '~' + ns + ".svc.cluster.local")
                .setCluster("svc-" + svc + '.' + ns).setMetadata(md).build();
    }

    static String ms(long nanos) {
        return nanos < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
    }

    /** Returns {@code p50 .. p90 .. p99 .. max} of {@code nanos} in milliseconds (nearest rank). */
    static String percentiles(long[] nanos) {
        if (nanos.length == 0) {
            return "(no samples)";
        }
        long[] a = nanos.clone();
        Arrays.sort(a);
        return String.format(Locale.ROOT, "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)",
                rank(a, 0.50) / 1e6, rank(a, 0.90) / 1e6, rank(a, 0.99) / 1e6, a[a.length - 1] / 1e6, a.length);
    }

    private static long rank(long[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private Discovery startDiscovery(Path dir) throws Exception {
        if (options.containsKey("connect")) {
            String[] hp = options.get("connect").split(":");
            return new Remote(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])));
        }
        if (options.containsKey("in-process")) {
            InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
            return new InProcess(DiscoveryServer.start(new DiscoveryOptions(dir, any, any, null,
                    DiscoveryOptions.DEFAULT_DEBOUNCE)));
        }
        return Child.start(dir, options.getOrDefault("discovery-xmx", "1g"));
    }

    /** Where discovery runs. */
    private interface Discovery extends AutoCloseable {
        InetSocketAddress address();

        String describe();

        String stats() throws IOException;

        /** Heap and GC counters without forcing a GC, for progress lines. */
        String progress() throws IOException;

        @Override
        void close() throws Exception;
    }

    private record Remote(InetSocketAddress address) implements Discovery {
        @Override
        public String describe() {
            return "running elsewhere at " + address;
        }

        @Override
        public String stats() {
            return "n/a (discovery runs elsewhere: use jcmd PID GC.heap_info)";
        }

        @Override
        public String progress() {
            return "";
        }

        @Override
        public void close() {}
    }

    private record InProcess(DiscoveryServer server) implements Discovery {
        @Override
        public InetSocketAddress address() {
            return server.grpcAddress();
        }

        @Override
        public String describe() {
            return "in this JVM (heap figures include the simulated clients) at " + address();
        }

        @Override
        public String stats() {
            return DiscoveryProcess.stats() + " (shared with the clients)";
        }

        @Override
        public String progress() {
            return DiscoveryProcess.progress(server);
        }

        @Override
        public void close() {
            server.close();
        }
    }

    private static final class Child implements Discovery {
        private final Process process;
        private final BufferedReader stdout;
        private final PrintWriter stdin;
        private final InetSocketAddress address;
        private final String xmx;

        private Child(Process process, BufferedReader stdout, PrintWriter stdin, InetSocketAddress address, String xmx) {
            this.process = process;
            this.stdout = stdout;
            this.stdin = stdin;
            this.address = address;
            this.xmx = xmx;
        }

        static Child start(Path dir, String xmx) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Path log = Files.createTempFile("pilot-load-discovery", ".log");
            List<String> command = new ArrayList<>(List.of(java, "-Xmx" + xmx));
            String extra = System.getenv("PILOT_LOAD_DISCOVERY_OPTS");
            if (extra != null && !extra.isBlank()) {
                command.addAll(List.of(extra.trim().split("\\s+")));
            }
            command.addAll(List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp", System.getProperty("java.class.path"), DiscoveryProcess.class.getName(), dir.toString()));
            Process p = new ProcessBuilder(command)
                    .redirectError(log.toFile())
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            PrintWriter w = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
            String line = r.readLine();
            while (line != null && !line.startsWith("READY ")) {
                // JVM options such as -XX:StartFlightRecording print to stdout before discovery does.
                logger.info("discovery: {}", line);
                line = r.readLine();
            }
            if (line == null) {
                p.destroyForcibly();
                throw new IOException("discovery did not start (" + line + "), see " + log);
            }
            logger.info("discovery pid {} logs to {}", p.pid(), log);
            int port = Integer.parseInt(line.split(" ")[1]);
            return new Child(p, r, w, new InetSocketAddress("127.0.0.1", port), xmx);
        }

        @Override
        public InetSocketAddress address() {
            return address;
        }

        @Override
        public String describe() {
            return "separate JVM pid " + process.pid() + " (-Xmx" + xmx + ") at " + address;
        }

        @Override
        public String stats() throws IOException {
            stdin.println("stats");
            String line = stdout.readLine();
            return line == null ? "n/a (discovery exited)" : line.substring("STATS ".length());
        }

        @Override
        public String progress() throws IOException {
            stdin.println("progress");
            String line = stdout.readLine();
            return line == null ? "n/a (discovery exited)" : line.substring("PROGRESS ".length());
        }

        @Override
        public void close() throws InterruptedException {
            stdin.println("exit");
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}

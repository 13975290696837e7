package io.jmesh.benchmarks.discovery;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link DiscoveryServer} alone in its own JVM for {@link PilotLoad}, so that the measured heap
 * and RSS are discovery's and not the simulated clients'.
 *
 * <p>Usage: {@code java -Xmx1g -cp ... io.jmesh.benchmarks.discovery.DiscoveryProcess CONFIG_DIR}. It binds
 * ADS and monitoring on port 0 of 127.0.0.1 and prints {@code READY <grpc port> <monitoring port>} on
 * stdout. Then it reads commands from stdin, one per line: {@code stats} runs a full GC and prints
 * {@link #stats()}; {@code progress} prints {@link #progress(DiscoveryServer)}; {@code exit} or the end of stdin (the parent died) stops discovery and exits.
 * Logs go to stderr.
 */
public final class DiscoveryProcess {

    private static final Logger logger = LoggerFactory.getLogger(DiscoveryProcess.class);

    private DiscoveryProcess() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: DiscoveryProcess CONFIG_DIR");
            System.exit(2);
        }
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        try (DiscoveryServer server = DiscoveryServer.start(new DiscoveryOptions(Path.of(args[0]), any, any, null,
                DiscoveryOptions.DEFAULT_DEBOUNCE))) {
            System.out.println("READY " + server.grpcAddress().getPort() + ' ' + server.monitoringAddress().getPort());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                switch (line.trim()) {
                    case "stats" -> {
                        System.out.println("STATS " + stats());
                        System.out.flush();
                    }
                    case "progress" -> {
                        System.out.println("PROGRESS " + progress(server));
                        System.out.flush();
                    }
                    case "exit" -> {
                        return;
                    }
                    default -> logger.warn("unknown command: {}", line);
                }
            }
        }
    }

    /**
     * Runs {@link System#gc()} twice and returns this JVM's memory as
     * {@code heapUsed=<bytes> heapCommitted=<bytes> heapMax=<bytes> rssKb=<kB> hwmKb=<kB> cpu=<ms>}; RSS and
     * its high-water mark come from {@code /proc/self/status} (-1 where not Linux).
     */
    public static String stats() {
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        System.gc();
        System.gc();
        var heap = mx.getHeapMemoryUsage();
        return "heapUsed=" + heap.getUsed() + " heapCommitted=" + heap.getCommitted() + " heapMax=" + heap.getMax()
                + " rssKb=" + procStatus("VmRSS") + " hwmKb=" + procStatus("VmHWM") + " cpu=" + cpuMillis() + "ms";
    }

    /** Returns the CPU time this process used so far (all threads, including GC), in ms, or -1. */
    public static long cpuMillis() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime() / 1_000_000;
        }
        return -1;
    }

    /**
     * Returns heap used (without forcing a GC), the time spent in GC so far, process CPU time and
     * RSS, as {@code heapUsed=<MiB> gcTime=<ms> gcCount=<n> cpu=<ms> rssKb=<kB>}, then how often
     * {@code server}'s generation cache was hit and missed ({@code cache=<hits>/<misses>}).
     */
    public static String progress(DiscoveryServer server) {
        long gcMillis = 0;
        long gcCount = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcMillis += Math.max(0, gc.getCollectionTime());
            gcCount += Math.max(0, gc.getCollectionCount());
        }
        return "heapUsed=" + mib(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed()) + " gcTime="
                + gcMillis + "ms gcCount=" + gcCount + " cpu=" + cpuMillis() + "ms rssKb=" + procStatus("VmRSS")
                + " cache=" + server.ads().cache().hits() + "/" + server.ads().cache().misses();
    }

    /** Returns a {@code kB} field of {@code /proc/self/status}, or -1. */
    static long procStatus(String field) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(field + ':')) {
                    return Long.parseLong(l.substring(field.length() + 1).replace("kB", "").trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            logger.debug("no /proc/self/status", e);
        }
        return -1;
    }

    /** Returns {@code bytes} in MiB with one decimal, for reports. */
    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}

package io.jmesh.proxy.telemetry.accesslog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Poll;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The file access log's batching writer, with real files, a real FIFO and a real child JVM. */
class AccessLogBatchingTest {

    @TempDir
    Path dir;

    private final Stats stats = new Stats();

    private AccessLog fileLog(Path path, String format) throws Exception {
        return AccessLogs.create(List.of(io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder()
                        .setName("envoy.access_loggers.file")
                        .setTypedConfig(Any.pack(FileAccessLog.newBuilder()
                                .setPath(path.toString())
                                .setLogFormat(SubstitutionFormatString.newBuilder().setTextFormatSource(
                                        DataSource.newBuilder().setInlineString(format)))
                                .build()))
                        .build()),
                ExtensionRegistry.loadDefault(), ExtensionContext.of(() -> null, stats, null, ServerLifecycle.NONE));
    }

    private static StreamInfo entry(String connection, int n) {
        return new StreamInfo().method("GET").requestHeaders(new DefaultHttpHeaders()
                .add("x-conn", connection).add("x-n", Integer.toString(n)));
    }

    @Test
    void entriesFromManyEventLoopsAllArriveInOrderPerConnection() throws Exception {
        Path path = dir.resolve("access.log");
        AccessLog log = fileLog(path, "%REQ(X-CONN)% %REQ(X-N)%\n");
        int connections = 8;
        int perConnection = 5000;
        DefaultEventLoopGroup loops = new DefaultEventLoopGroup(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                String name = "c" + c;
                EventLoop loop = loops.next(); // a connection stays on one event loop, as in the proxy
                done.add(loop.submit(() -> {
                    for (int n = 0; n < perConnection; n++) {
                        log.log(entry(name, n));
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            loops.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
        AccessLogs.flush();

        List<String> lines = Files.readAllLines(path);
        assertEquals(connections * perConnection, lines.size());
        Map<String, Integer> next = new HashMap<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            int expected = next.getOrDefault(f[0], 0);
            assertEquals(expected, Integer.parseInt(f[1]), "entry of " + f[0] + " out of order: " + line);
            next.put(f[0], expected + 1);
        }
        assertEquals(connections, next.size());
        assertEquals(connections * perConnection, stats.counter(AccessLogs.BUFFERED_STAT).get());
        assertEquals(0, stats.counter(AccessLogs.DROPPED_STAT).get());
    }

    /**
     * A FIFO nobody reads yet: the writer blocks in {@code write} once the pipe is full, the log's buffer fills to
     * {@link AccessLogs#MAX_BUFFERED_BYTES} and the rest is dropped and counted; the event loop never blocks. When
     * the reader drains the pipe, exactly the entries that were not dropped arrive, in order.
     */
    @Test
    @Timeout(120)
    void fullBufferDropsAndCountsWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("slow.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor());
        // Opened read-write so that opening it does not wait for a writer; it is only read from.
        try (RandomAccessFile reader = new RandomAccessFile(fifo.toFile(), "rw")) {
            String padding = "x".repeat(1000);
            AccessLog log = fileLog(fifo, padding + " %REQ(X-N)%\n");
            int total = 12_000; // ~12 MiB: more than the pipe, the batch being written and a full buffer
            for (int n = 0; n < total; n++) {
                log.log(entry("c", n));
            }
            long dropped = stats.counter(AccessLogs.DROPPED_STAT).get();
            long kept = stats.counter(AccessLogs.BUFFERED_STAT).get();
            assertTrue(dropped > 0, "nothing dropped");
            assertEquals(total, kept + dropped);

            byte[] chunk = new byte[65536];
            StringBuilder text = new StringBuilder();
            long newlines = 0;
            while (newlines < kept) {
                int r = reader.read(chunk);
                String s = new String(chunk, 0, r, StandardCharsets.US_ASCII);
                newlines += s.chars().filter(ch -> ch == '\n').count();
                text.append(s);
            }
            String[] lines = text.toString().split("\n");
            assertEquals(kept, lines.length);
            for (int n = 0; n < lines.length; n++) {
                assertEquals(padding + " " + n, lines[n]);
            }
            AccessLogs.flush();
        }
    }

    @Test
    void writtenOnTheIntervalWithoutAFlush() throws Exception {
        Path path = dir.resolve("interval.log");
        AccessLog log = fileLog(path, "%REQ(:METHOD)% %REQ(X-N)%\n");
        log.log(entry("c", 7));
        Poll.until(() -> read(path).equals("GET 7\n"), "the entry written by the interval flush");
    }

    @Test
    void flushedWhenTheJvmExits() throws Exception {
        Path path = dir.resolve("exit.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                AccessLogExitMain.class.getName(), path.toString(), "300")
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.out").toFile()).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM still running");
        assertEquals(0, child.exitValue(), read(dir.resolve("child.out")));
        List<String> lines = Files.readAllLines(path);
        assertEquals(300, lines.size());
        for (int n = 0; n < lines.size(); n++) {
            assertEquals("GET " + n, lines.get(n));
        }
    }

    private static String read(Path path) {
        try {
            return Files.exists(path) ? Files.readString(path) : "";
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

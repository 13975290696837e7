package io.jmesh.proxy.telemetry.accesslog;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.handler.codec.http.DefaultHttpHeaders;

/**
 * One finished request written to the file access log with Istio's default text format (the {@code accesslog} row
 * of {@code benchmarks/scripts/telemetry-bench.sh}), without sockets. Each operation's request starts one
 * millisecond after the previous one, so the start time's text changes every request as it does at ~1,000 req/s.
 *
 * <ul>
 *   <li>{@link #format}: formatting the line alone into a new String.</li>
 *   <li>{@link #appendTo}: formatting the line into a reused builder, as the file logger does on the event loop
 *       (measured: 33 B/op, the {@code byte[4]} copies of the IPv4 addresses, and the start time's text once a
 *       second).</li>
 *   <li>{@link #logAndWrite}: 1,000 entries logged with {@link AccessLog#log} as the event loop calls it, then
 *       {@link AccessLogs#flush()}: the event loop's and the writer thread's work together, per entry (time per
 *       entry until all are in the file).</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AccessLogBenchmark {

    /** Istio's default text format ({@code envoyFileAccessLog} without {@code logFormat}). */
    static final String ISTIO_TEXT_FORMAT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% "
            + "%PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
            + "\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
            + "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
            + "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW% "
            + "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
            + "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

    private static final long START = 1_764_000_000_000L;

    private AccessLogFormatter formatter;
    private AccessLog log;
    private StreamInfo entry;
    private Path dir;
    private long tick;
    private final StringBuilder text = new StringBuilder(512);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        formatter = AccessLogFormatter.parse(ISTIO_TEXT_FORMAT);
        dir = Files.createTempDirectory("access-log-bench");
        log = AccessLogs.create(List.of(io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder()
                .setName("envoy.access_loggers.file")
                .setTypedConfig(Any.pack(FileAccessLog.newBuilder()
                        .setPath(dir.resolve("access.log").toString())
                        .setLogFormat(SubstitutionFormatString.newBuilder().setTextFormatSource(
                                DataSource.newBuilder().setInlineString(ISTIO_TEXT_FORMAT)))
                        .build()))
                .build()));
        entry = new StreamInfo()
                .startTimeMillis(START)
                .method("GET")
                .path("/productpage")
                .protocol("HTTP/1.1")
                .authority("productpage.default.svc.cluster.local:9080")
                .userAgent("curl/8.5.0")
                .requestId("5f3c2a8e-3d1b-4f0a-9c55-2b7e1f0d9a11")
                .requestHeaders(new DefaultHttpHeaders())
                .responseHeaders(new DefaultHttpHeaders().add("x-envoy-upstream-service-time", "3"))
                .responseCode(200)
                .responseCodeDetails("via_upstream")
                .bytesReceived(0)
                .bytesSent(612)
                .durationMs(4)
                .upstreamHost("10.1.2.3:9080")
                .upstreamCluster("outbound|9080||productpage.default.svc.cluster.local")
                .routeName("default")
                .downstreamLocalAddress(new InetSocketAddress("10.96.0.10", 9080))
                .downstreamRemoteAddress(new InetSocketAddress("10.1.0.7", 43210));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        AccessLogs.flush();
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    @Benchmark
    public String format() {
        entry.startTimeMillis(START + tick++);
        return formatter.format(entry);
    }

    @Benchmark
    public int appendTo() {
        entry.startTimeMillis(START + tick++);
        text.setLength(0);
        formatter.appendTo(entry, text);
        return text.length();
    }

    @Benchmark
    @OperationsPerInvocation(1000)
    public void logAndWrite() {
        for (int i = 0; i < 1000; i++) {
            entry.startTimeMillis(START + tick++);
            log.log(entry);
        }
        AccessLogs.flush();
    }
}

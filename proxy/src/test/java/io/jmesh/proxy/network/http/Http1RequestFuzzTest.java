package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * Fuzzes the HTTP/1.1 request path of the proxy, in process: fuzzer bytes are written on a real connection to a
 * listener (HTTP connection manager, {@code codec_type: HTTP1}, one route to one cluster) whose upstream is a
 * recording HTTP server ({@link RecordingUpstream}). Properties:
 * <ul>
 *   <li>once the client closes, the proxy ends everything that connection started within 10 s (no hang) and
 *       logs no warning or error (no exception escapes to Netty's pipeline tail, nothing unexpected);</li>
 *   <li>every request that reaches the upstream is one that {@link StrictHttp1Parser} accepts whole from the
 *       input, in order (same method, origin-form target and body): no request smuggling or splitting;</li>
 *   <li>no buffer leaks (Netty's detector, PARANOID in the build; a {@code LEAK:} line fails CI).</li>
 * </ul>
 * The second property depends on the HTTP/1.1 parser hardening of issue 8 (request splitting, Transfer-Encoding,
 * chunked framing, header validation); it fails on inputs that hardening rejects until it is merged.
 * Seeds: {@code Http1RequestFuzzTestInputs/request/}.
 */
class Http1RequestFuzzTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: fuzz
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: fuzz
                      codec_type: ${CODEC}
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: "" }
                            route: { cluster: upstream, timeout: 5s }
                      http_filters:
                      - name: envoy.filters.http.router
              clusters:
              - name: upstream
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: upstream
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${UPSTREAM} } } }
            """;

    private static RecordingUpstream upstream;
    private static ProxyFixture proxy;
    private static LogWatch log;
    private static List<StrictHttp1Parser.Request> previous = List.of();

    /**
     * Started on the first input rather than in {@code @BeforeAll}: Jazzer installs its agent when the fuzz test
     * starts, and retransforming the classes of a proxy already serving made it stall.
     */
    private static void start() throws Exception {
        if (proxy != null) {
            return;
        }
        log = LogWatch.install();
        upstream = RecordingUpstream.start();
        proxy = ProxyFixture.start(CONFIG, Map.of("CODEC", "HTTP1", "UPSTREAM", upstream.port()), 1);
        warmUp(proxy, upstream, "GET /warm-up HTTP/1.1\r\nHost: w\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Sends {@code request} until it reaches the upstream promptly: the first requests load (and have Jazzer
     * instrument) the classes of the path, slowly enough that an input would be cut short.
     */
    static void warmUp(ProxyFixture proxy, RecordingUpstream upstream, byte[] request) throws Exception {
        for (int i = 0; i < 50 && upstream.received().size() < 3; i++) {
            exchange(proxy, "fuzz", request, 1);
            quiesce(proxy);
            upstream.sync();
        }
        upstream.received().clear();
    }

    @AfterAll
    static void stop() {
        // (nothing to close when no input ran)
        if (proxy != null) {
            proxy.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (log != null) {
            log.close();
        }
    }

    @FuzzTest
    void request(byte[] input) throws Exception {
        List<StrictHttp1Parser.Request> accepted = StrictHttp1Parser.parse(input);
        // The proxy and this test connect on loopback only; Jazzer's SSRF detector is told so.
        BugDetectors.allowNetworkConnections((host, port) -> host.equals("127.0.0.1") || host.equals("localhost"));
        start();
        log.reset();
        exchange(proxy, "fuzz", input, accepted.size());
        quiesce(proxy);
        upstream.sync();
        List<RecordingUpstream.Received> got = new ArrayList<>(upstream.received());
        upstream.received().clear();
        int next = 0;
        for (RecordingUpstream.Received r : got) {
            int at = next;
            while (at < accepted.size() && !matches(accepted.get(at), r)) {
                at++;
            }
            if (at < accepted.size()) {
                next = at + 1;
            } else if (previous.stream().noneMatch(a -> matches(a, r))) {
                // (A request of the previous input may arrive late: the proxy can still be connecting upstream
                // when its client has gone, and the upstream then receives it during this input.)
                fail("forwarded upstream a request the strict parser did not accept: " + r + "\naccepted: "
                     + accepted + "\nforwarded: " + got);
            }
        }
        previous = accepted;
        assertEquals(List.of(), log.problems(), "the proxy logged a warning or an error");
    }

    static boolean matches(StrictHttp1Parser.Request a, RecordingUpstream.Received r) {
        return a.method().equals(r.method()) && Arrays.equals(a.body(), r.body())
               && (!a.target().startsWith("/") || a.target().equals(r.uri()));
    }

    /**
     * Writes {@code input} and reads what comes back until the proxy closes, or has started at least
     * {@code expected} requests and has none in progress ({@code expected < 0}: has none in progress and sent
     * nothing for 100 ms), or sends nothing for 200 ms (a request waiting for more bytes); then closes. (A half-close would not do: like
     * Envoy, the proxy ends the connection and resets its streams when the client half-closes.)
     */
    static void exchange(ProxyFixture proxy, String statPrefix, byte[] input, int expected) throws Exception {
        long before = proxy.counter("http." + statPrefix + ".downstream_rq_total");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5000);
            s.setSoTimeout(20);
            try {
                s.getOutputStream().write(input);
            } catch (java.io.IOException closedEarly) {
                // the proxy may close (after a 400) before it has read everything
            }
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            long quietSince = System.nanoTime();
            for (;;) {
                try {
                    if (in.read(buf) < 0) {
                        return;
                    }
                    quietSince = System.nanoTime();
                } catch (SocketTimeoutException e) {
                    long quiet = System.nanoTime() - quietSince;
                    boolean idle = proxy.gauge("http." + statPrefix + ".downstream_rq_active") == 0;
                    if (expected >= 0 && idle
                        && proxy.counter("http." + statPrefix + ".downstream_rq_total") - before >= expected
                        || expected < 0 && idle && quiet > 100_000_000L
                        || quiet > 200_000_000L) {
                        return;
                    }
                } catch (java.net.SocketException reset) {
                    return;
                }
            }
        }
    }

    /** Waits until nothing is in flight in the proxy, so that what it forwarded has reached the upstream. */
    static void quiesce(ProxyFixture proxy) throws InterruptedException {
        Poll.until(() -> proxy.gauge("http.fuzz.downstream_rq_active") == 0
                         && proxy.gauge("cluster.upstream.upstream_rq_active") == 0
                         && proxy.gauge("http.fuzz.downstream_cx_active") == 0, "proxy idle");
    }
}

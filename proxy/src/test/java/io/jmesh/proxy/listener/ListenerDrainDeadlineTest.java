package io.jmesh.proxy.listener;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.network.DrainSettings;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;

/**
 * An HTTP listener updated in place ({@link ProxyListener#replaceFilterChain(ProxyListener, DrainSettings)}) closes
 * a connection of the old filter chain that is still busy when the drain time is over: an HTTP/1.1 connection in
 * the middle of a response and an HTTP/2 connection (curl) with an open stream, which got GOAWAY first; a listener
 * closed ({@link ProxyListener#close()}: removed by LDS, its drain time over) closes such an HTTP/2 connection at
 * once too, without waiting for its streams.
 */
class ListenerDrainDeadlineTest {

    private final EventLoopGroup workers = Transports.newGroup(1, "drain-deadline-test");
    private final Stats stats = new Stats();
    private TestBackend backend;
    private ClusterManager clusters;
    private ProxyListener listener;

    @BeforeEach
    void setUp() throws Exception {
        backend = TestBackend.start("backend");
        clusters = ClusterManager.create(config().getStaticResources().getClustersList(), workers, stats);
        listener = create();
        listener.bind(workers).sync();
    }

    @AfterEach
    void tearDown() {
        listener.close();
        clusters.close();
        backend.close();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private Bootstrap config() throws Exception {
        return BootstrapLoader.parse(Bootstraps.http().virtualHost("all", "*")
                .routeYaml("{ match: { prefix: \"/\" }, route: { cluster: backend, timeout: 0s } }")
                .cluster("backend", backend.port()).build());
    }

    private ProxyListener create() throws Exception {
        return ProxyListener.create(config().getStaticResources().getListeners(0), () -> clusters, stats, "listener");
    }

    private static final DrainSettings SHORT = new DrainSettings(300, DrainSettings.Strategy.IMMEDIATE);

    @Test
    void anHttp1ConnectionWaitingForItsResponseIsClosedWhenTheDrainTimeIsOver() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", listener.localAddress().getPort()));
            s.setSoTimeout(20_000);
            s.getOutputStream().write("GET /delay/60000 HTTP/1.1\r\nhost: x\r\n\r\n".getBytes(US_ASCII));
            Poll.until(() -> backend.requests.get() == 1, "the backend has the request");

            listener.replaceFilterChain(create(), SHORT);

            InputStream in = s.getInputStream();
            assertEquals(-1, in.read(), "the proxy closed the connection without a response");
        }
    }

    @Test
    void anHttp2ConnectionWithAnOpenStreamGetsGoawayThenIsClosedWhenTheDrainTimeIsOver() throws Exception {
        CompletableFuture<Curl.Result> curl = http2RequestWaitingForItsResponse();

        listener.replaceFilterChain(create(), SHORT);

        assertClosedWithoutResponse(curl);
    }

    @Test
    void anHttp2ConnectionThatGotGoawayIsClosedAtOnceWhenItsListenerIsClosed() throws Exception {
        CompletableFuture<Curl.Result> curl = http2RequestWaitingForItsResponse();

        // Updated in place (GOAWAY, a long drain time), then removed by LDS and its own drain time over:
        listener.replaceFilterChain(create(), new DrainSettings(60_000, DrainSettings.Strategy.IMMEDIATE));
        listener.drain();
        listener.close();

        assertClosedWithoutResponse(curl);
    }

    /** curl's HTTP/2 request whose response the backend holds for a minute, once the backend has it. */
    private CompletableFuture<Curl.Result> http2RequestWaitingForItsResponse() throws Exception {
        CompletableFuture<Curl.Result> curl = CompletableFuture.supplyAsync(() -> {
            try {
                return Curl.run("--http2-prior-knowledge",
                        "http://127.0.0.1:" + listener.localAddress().getPort() + "/delay/60000");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Poll.until(() -> backend.requests.get() == 1, "the backend has the request");
        return curl;
    }

    /** curl ended without a response, by the proxy closing the connection before curl's own --max-time. */
    private static void assertClosedWithoutResponse(CompletableFuture<Curl.Result> curl) throws Exception {
        Curl.Result r = curl.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.status, "no response: " + r);
        assertNotEquals(0, r.exitCode, r.toString());
        assertNotEquals(28, r.exitCode, "curl's own --max-time did not end it: " + r);
    }
}

package io.jmesh.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.TestCertificates;
import io.netty.channel.nio.NioEventLoopGroup;

/**
 * pilot-agent's status endpoints on the status port (15020) and the health port (15021): readiness, the
 * application's original probes run against a real HTTP server and real TCP ports, and /quitquitquit. Called with curl.
 */
class StatusPortTest {

    @Test
    void readinessAppProbesAndQuit() throws Exception {
        HttpServer app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        app.createContext("/healthz", ex -> {
            // The probe's httpHeaders reach the application.
            int code = "yes".equals(ex.getRequestHeaders().getFirst("X-Probe")) ? 200 : 401;
            ex.sendResponseHeaders(code, -1);
            ex.close();
        });
        app.createContext("/broken", ex -> {
            ex.sendResponseHeaders(500, -1);
            ex.close();
        });
        app.start();
        int appPort = app.getAddress().getPort();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        AppProbers probers = AppProbers.parse("{"
                + "\"/app-health/web/livez\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":" + appPort
                + ",\"scheme\":\"HTTP\",\"httpHeaders\":[{\"name\":\"X-Probe\",\"value\":\"yes\"}]},\"timeoutSeconds\":2},"
                + "\"/app-health/web/readyz\":{\"httpGet\":{\"path\":\"/broken\",\"port\":" + appPort + "}},"
                + "\"/app-health/web/startupz\":{\"tcpSocket\":{\"port\":" + appPort + "}},"
                + "\"/app-health/db/livez\":{\"tcpSocket\":{\"port\":" + closedPort + "}}}");
        AtomicReference<String> notReady = new AtomicReference<>("config not received from XDS server");
        CountDownLatch quit = new CountDownLatch(1);
        var endpoints = new MergedMetricsServer.StatusEndpoints(notReady::get, quit::countDown, probers);
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        MergedMetricsServer status = MergedMetricsServer.start(new InetSocketAddress("127.0.0.1", 0), new Stats(),
                null, group, endpoints, false);
        MergedMetricsServer health = MergedMetricsServer.start(new InetSocketAddress("127.0.0.1", 0), new Stats(),
                null, group, endpoints, true);
        try {
            String s = "http://127.0.0.1:" + status.localAddress().getPort();
            String h = "http://127.0.0.1:" + health.localAddress().getPort();

            Curl.Result before = Curl.run(h + "/healthz/ready");
            assertEquals(503, before.status, before.toString());
            assertTrue(before.body.contains("config not received"), before.body);
            assertEquals(503, Curl.run(s + "/healthz/ready").status);
            notReady.set(null);
            assertEquals(200, Curl.run(h + "/healthz/ready").status);
            assertEquals(200, Curl.run(s + "/healthz/ready").status);
            assertEquals(404, Curl.run(h + "/stats/prometheus").status, "the health port answers readiness alone");
            assertEquals(200, Curl.run(s + "/stats/prometheus").status);

            assertEquals(200, Curl.run(s + "/app-health/web/livez").status);
            assertEquals(500, Curl.run(s + "/app-health/web/readyz").status, "the application's status is answered");
            assertEquals(200, Curl.run(s + "/app-health/web/startupz").status);
            assertEquals(500, Curl.run(s + "/app-health/db/livez").status, "a refused TCP probe fails");
            assertEquals(404, Curl.run(s + "/app-health/other/livez").status);
            app.stop(0);
            assertEquals(503, Curl.run(s + "/app-health/web/livez").status, "an unreachable application");

            assertEquals(405, Curl.run(s + "/quitquitquit").status, "GET does not quit");
            assertEquals(1, quit.getCount());
            assertEquals(200, Curl.run("-X", "POST", s + "/quitquitquit").status);
            assertTrue(quit.await(10, java.util.concurrent.TimeUnit.SECONDS), "POST /quitquitquit quits");
        } finally {
            health.close();
            status.close();
            group.shutdownGracefully().syncUninterruptibly();
            app.stop(0);
        }
    }

    @Test
    void grpcProbeCallsTheHealthService() throws Exception {
        // A real gRPC-Java server with grpc.health.v1.Health/Check: "ok" is SERVING (1), any other NOT_SERVING (2).
        io.grpc.MethodDescriptor.Marshaller<byte[]> bytes = new io.grpc.MethodDescriptor.Marshaller<>() {
            @Override
            public java.io.InputStream stream(byte[] v) {
                return new java.io.ByteArrayInputStream(v);
            }

            @Override
            public byte[] parse(java.io.InputStream in) {
                try {
                    return in.readAllBytes();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        var method = io.grpc.MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(io.grpc.MethodDescriptor.MethodType.UNARY).setFullMethodName("grpc.health.v1.Health/Check")
                .setRequestMarshaller(bytes).setResponseMarshaller(bytes).build();
        io.grpc.ServerServiceDefinition health = io.grpc.ServerServiceDefinition.builder("grpc.health.v1.Health")
                .addMethod(method, io.grpc.stub.ServerCalls.asyncUnaryCall((byte[] req, io.grpc.stub.StreamObserver<byte[]> o) -> {
                    String service;
                    try {
                        var in = com.google.protobuf.CodedInputStream.newInstance(req);
                        service = in.readTag() == 10 ? in.readString() : "";
                    } catch (java.io.IOException e) {
                        service = "";
                    }
                    o.onNext(new byte[] {8, (byte) (service.equals("ok") ? 1 : 2)});
                    o.onCompleted();
                })).build();
        io.grpc.Server server = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0)).addService(health).build().start();
        int port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
        AppProbers probers = AppProbers.parse("{"
                + "\"/app-health/g/livez\":{\"grpc\":{\"port\":" + port + ",\"service\":\"ok\"},\"timeoutSeconds\":10},"
                + "\"/app-health/g/readyz\":{\"grpc\":{\"port\":" + port + ",\"service\":\"down\"}}}");
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        MergedMetricsServer status = MergedMetricsServer.start(new InetSocketAddress("127.0.0.1", 0), new Stats(),
                null, group, new MergedMetricsServer.StatusEndpoints(() -> null, () -> { }, probers), false);
        try {
            String s = "http://127.0.0.1:" + status.localAddress().getPort();
            assertEquals(200, Curl.run(s + "/app-health/g/livez").status);
            assertEquals(500, Curl.run(s + "/app-health/g/readyz").status, "NOT_SERVING fails the probe");
        } finally {
            status.close();
            group.shutdownGracefully().syncUninterruptibly();
            server.shutdownNow();
        }
    }

    @Test
    void httpsProbeDoesNotVerifyTheApplicationsCertificate(@TempDir Path dir) throws Exception {
        // As the kubelet: the application's certificate is signed by a CA nobody trusts and does not name the probed
        // host (localhost), and the probe still runs.
        TestCertificates.Issued leaf = TestCertificates.create(dir).issue("app", null, java.util.List.of("app.example"));
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("app", leaf.key(), new char[0], new java.security.cert.Certificate[] {leaf.certificate()});
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        HttpsServer app = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        app.setHttpsConfigurator(new HttpsConfigurator(tls));
        app.createContext("/healthz", ex -> {
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        app.start();
        AppProbers probers = AppProbers.parse("{\"/app-health/web/livez\":{\"httpGet\":{\"path\":\"/healthz\","
                + "\"host\":\"localhost\",\"port\":" + app.getAddress().getPort() + ",\"scheme\":\"HTTPS\"},\"timeoutSeconds\":10}}");
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        MergedMetricsServer status = MergedMetricsServer.start(new InetSocketAddress("127.0.0.1", 0), new Stats(),
                null, group, new MergedMetricsServer.StatusEndpoints(() -> null, () -> { }, probers), false);
        try {
            assertEquals(204, Curl.run("http://127.0.0.1:" + status.localAddress().getPort()
                    + "/app-health/web/livez").status, "the application's status over TLS");
        } finally {
            status.close();
            group.shutdownGracefully().syncUninterruptibly();
            app.stop(0);
        }
    }

    @Test
    void tcpProbeRunsOnTheNativeTransport() throws Exception {
        // The proxy's own groups are epoll where it is available: the probe's connection must use the loop's transport.
        assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "epoll is not available here");
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (ServerSocket open = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AppProbers probers = AppProbers.parse("{"
                    + "\"/app-health/web/livez\":{\"tcpSocket\":{\"port\":" + open.getLocalPort() + "}},"
                    + "\"/app-health/db/livez\":{\"tcpSocket\":{\"port\":" + closedPort + "}}}");
            var group = new io.netty.channel.epoll.EpollEventLoopGroup(1);
            MergedMetricsServer status = MergedMetricsServer.start(new InetSocketAddress("127.0.0.1", 0), new Stats(),
                    null, group, new MergedMetricsServer.StatusEndpoints(() -> null, () -> { }, probers), false);
            try {
                String s = "http://127.0.0.1:" + status.localAddress().getPort();
                assertEquals(200, Curl.run(s + "/app-health/web/livez").status);
                assertEquals(500, Curl.run(s + "/app-health/db/livez").status, "a refused TCP probe fails");
            } finally {
                status.close();
                group.shutdownGracefully().syncUninterruptibly();
            }
        }
    }

    @Test
    void badProbersAreRefusedByField() {
        IllegalArgumentException exec = assertThrows(IllegalArgumentException.class, () -> AppProbers.parse(
                "{\"/app-health/web/livez\":{\"exec\":{}}}"));
        assertEquals("ISTIO_KUBE_APP_PROBERS./app-health/web/livez: [exec] (expected: httpGet, tcpSocket or grpc)",
                exec.getMessage());
        IllegalArgumentException port = assertThrows(IllegalArgumentException.class, () -> AppProbers.parse(
                "{\"/app-health/web/livez\":{\"httpGet\":{\"port\":\"http\"}}}"));
        assertEquals("ISTIO_KUBE_APP_PROBERS./app-health/web/livez.httpGet.port: \"http\" (expected: a port number "
                + "1-65535)", port.getMessage());
        IllegalArgumentException json = assertThrows(IllegalArgumentException.class, () -> AppProbers.parse("[1]"));
        assertTrue(json.getMessage().startsWith("ISTIO_KUBE_APP_PROBERS: [1] (expected: a JSON object"),
                json.getMessage());
        assertEquals(0, AppProbers.parse("").paths().size());
    }
}

package io.jmesh.discovery.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * Istio's three PeerAuthentication modes against every kind of client a user points at a sidecar, all real: three
 * workloads, each behind its own sidecar following {@code jmesh discovery} and selected by its own workload
 * PeerAuthentication ({@code STRICT}, {@code PERMISSIVE}, {@code DISABLE}); each workload has an HTTP/1.1 port (a
 * Netty server) and a gRPC port (a gRPC-Java server), served on the workload's loopback IP by its sidecar
 * ("local mode"). Certificates come from a throw-away mesh CA; clients are curl, {@code openssl s_client},
 * gRPC-Java (plaintext, and Netty TLS with a mesh certificate whose server SPIFFE ID it checks) and a client
 * sidecar (auto mTLS).
 *
 * <p>What a user sees, as with Istio's inbound chains: STRICT takes only mTLS; PERMISSIVE takes plaintext and a
 * mesh peer's mTLS (told apart by Istio's ALPN, {@code istio}), while any other TLS is the application's own and
 * goes to it untouched (here a plaintext server, so it fails); DISABLE takes plaintext only. A mesh client
 * sidecar reaches every mode.
 */
class MtlsModesClientMatrixTest {

    enum Mode { STRICT, PERMISSIVE, DISABLE }

    /** What the client saw: a served request (a completed handshake for openssl), or not. */
    enum Outcome { SERVED, REFUSED }

    private static final Map<Mode, String> IPS = Map.of(Mode.STRICT, "127.0.0.71", Mode.PERMISSIVE, "127.0.0.72",
            Mode.DISABLE, "127.0.0.73");
    private static final String CLIENT_NODE = "sidecar~127.0.0.70~productpage-1.default~default.svc.cluster.local";

    @TempDir
    static Path dir;

    private static MeshTlsFixture mesh;
    private static TestBackend http;
    private static Server grpc;
    private static final Map<Mode, ProxyServer> servers = new EnumMap<>(Mode.class);
    private static ProxyServer client;
    private static TestCertificates.Issued curlCert;

    @BeforeAll
    static void start() throws Exception {
        mesh = new MeshTlsFixture(dir);
        http = mesh.closeLater(TestBackend.start("app"));
        grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("hi " + request.getRequestMessage())
                                .build());
                        out.onCompleted();
                    }
                }).build().start();
        StringBuilder yaml = new StringBuilder();
        for (Mode m : Mode.values()) {
            String app = app(m);
            yaml.append("""
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata: {name: %1$s, namespace: default}
                    spec:
                      hosts: [%1$s.default.svc.cluster.local]
                      location: MESH_INTERNAL
                      resolution: STATIC
                      ports: [{number: 9080, name: http, protocol: HTTP}, {number: 9090, name: grpc, protocol: GRPC}]
                      workloadSelector: {labels: {app: %1$s}}
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: WorkloadEntry
                    metadata: {name: %1$s, namespace: default}
                    spec:
                      address: %2$s
                      ports: {http: %3$d, grpc: %4$d}
                      serviceAccount: %1$s
                      labels: {app: %1$s, security.istio.io/tlsMode: istio}
                    ---
                    apiVersion: security.istio.io/v1
                    kind: PeerAuthentication
                    metadata: {name: %1$s, namespace: default}
                    spec:
                      selector: {matchLabels: {app: %1$s}}
                      mtls: {mode: %5$s}
                    ---
                    """.formatted(app, IPS.get(m), http.port(), grpcPort(), m));
        }
        mesh.write("mesh.yaml", yaml.toString());
        mesh.startDiscovery(null);
        for (Mode m : Mode.values()) {
            servers.put(m, mesh.proxy("sidecar~" + IPS.get(m) + "~" + app(m) + "-1.default~default.svc.cluster.local",
                    Map.of("app", app(m)), app(m), new ListenerBinding("127.0.0.1", Map.of(), IPS.get(m))));
        }
        client = mesh.proxy(CLIENT_NODE, Map.of("app", "productpage"), "productpage",
                new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
        curlCert = mesh.ca.issue("curl-client", "spiffe://cluster.local/ns/default/sa/curl");
        for (Mode m : Mode.values()) {
            String ip = IPS.get(m);
            Poll.until(() -> servers.get(m).listenerAddresses().containsKey(ip + "_" + http.port())
                            && servers.get(m).listenerAddresses().containsKey(ip + "_" + grpcPort()),
                    "the inbound listeners of " + app(m));
            Poll.until(() -> Client.MESH_SIDECAR.quietly(m) == Outcome.SERVED,
                    "the client sidecar reaches " + app(m));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (grpc != null) {
            grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    private static String app(Mode m) {
        return m.name().toLowerCase(java.util.Locale.ROOT) + "-app";
    }

    private static int grpcPort() {
        return ((InetSocketAddress) grpc.getListenSockets().get(0)).getPort();
    }

    /** The clients of the matrix; each runs one exchange against a mode's workload and says what it saw. */
    enum Client {
        CURL_PLAINTEXT {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return curl(detail, "--http1.1", "http://" + IPS.get(m) + ":" + http.port() + "/hello");
            }
        },
        CURL_MESH_CERTIFICATE {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return curl(detail, "--http1.1", "--cacert", mesh.ca.caCertificate().toString(),
                        "--cert", curlCert.certificateChain().toString(), "--key", curlCert.privateKey().toString(),
                        "--resolve", "localhost:" + http.port() + ":" + IPS.get(m),
                        "https://localhost:" + http.port() + "/hello");
            }
        },
        CURL_TLS_WITHOUT_CERTIFICATE {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return curl(detail, "--http1.1", "--cacert", mesh.ca.caCertificate().toString(),
                        "--resolve", "localhost:" + http.port() + ":" + IPS.get(m),
                        "https://localhost:" + http.port() + "/hello");
            }
        },
        /** {@code openssl s_client} as a mesh peer: Istio's ALPN {@code istio} and a mesh certificate. */
        OPENSSL_MESH_PEER {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return openssl(m, detail, true);
            }
        },
        /** {@code openssl s_client} with Istio's ALPN but no client certificate. */
        OPENSSL_WITHOUT_CERTIFICATE {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return openssl(m, detail, false);
            }
        },
        GRPC_PLAINTEXT {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return grpcCall(m, InsecureChannelCredentials.create(), detail);
            }
        },
        /** gRPC-Java over Netty TLS (ALPN {@code h2}) with a mesh certificate, checking the server's SPIFFE ID. */
        GRPC_MESH_CERTIFICATE {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                return grpcCall(m, TlsChannelCredentials.newBuilder()
                        .keyManager(curlCert.certificateChain().toFile(), curlCert.privateKey().toFile())
                        .trustManager(new SpiffeTrustManager(mesh.ca.caX509(),
                                "spiffe://cluster.local/ns/default/sa/" + app(m)))
                        .build(), detail);
            }
        },
        /** A client sidecar (auto mTLS) reached in plaintext on its outbound listener. */
        MESH_SIDECAR {
            @Override
            Outcome run(Mode m, StringBuilder detail) throws Exception {
                InetSocketAddress out = client.listenerAddresses().get("0.0.0.0_9080");
                if (out == null) {
                    detail.append("no outbound listener yet");
                    return Outcome.REFUSED;
                }
                return curl(detail, "-H", "Host: " + app(m) + ".default.svc.cluster.local",
                        "http://127.0.0.1:" + out.getPort() + "/hello");
            }
        };

        abstract Outcome run(Mode m, StringBuilder detail) throws Exception;

        /** {@link #run} for {@link Poll}: an exception is {@link Outcome#REFUSED}. */
        Outcome quietly(Mode m) {
            try {
                return run(m, new StringBuilder());
            } catch (Exception e) {
                return Outcome.REFUSED;
            }
        }
    }

    /**
     * The expected outcome per client, in the order STRICT, PERMISSIVE, DISABLE. A TLS client that is not a mesh
     * peer (no Istio ALPN) reaching a PERMISSIVE port is the application's own TLS and is passed through to it.
     */
    private static final Map<Client, List<Outcome>> EXPECTED = new EnumMap<>(Map.of(
            Client.CURL_PLAINTEXT, List.of(Outcome.REFUSED, Outcome.SERVED, Outcome.SERVED),
            Client.CURL_MESH_CERTIFICATE, List.of(Outcome.SERVED, Outcome.REFUSED, Outcome.REFUSED),
            Client.CURL_TLS_WITHOUT_CERTIFICATE, List.of(Outcome.REFUSED, Outcome.REFUSED, Outcome.REFUSED),
            Client.OPENSSL_MESH_PEER, List.of(Outcome.SERVED, Outcome.SERVED, Outcome.REFUSED),
            Client.OPENSSL_WITHOUT_CERTIFICATE, List.of(Outcome.REFUSED, Outcome.REFUSED, Outcome.REFUSED),
            Client.GRPC_PLAINTEXT, List.of(Outcome.REFUSED, Outcome.SERVED, Outcome.SERVED),
            Client.GRPC_MESH_CERTIFICATE, List.of(Outcome.SERVED, Outcome.REFUSED, Outcome.REFUSED),
            Client.MESH_SIDECAR, List.of(Outcome.SERVED, Outcome.SERVED, Outcome.SERVED)));

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (Client c : Client.values()) {
            for (Mode m : Mode.values()) {
                out.add(Arguments.of(m, c, EXPECTED.get(c).get(m.ordinal())));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}: {2}")
    @MethodSource("matrix")
    void eachClientSeesWhatIstioGivesIt(Mode mode, Client c, Outcome expected) throws Exception {
        StringBuilder detail = new StringBuilder();
        Outcome seen = c.run(mode, detail);
        assertEquals(expected, seen, () -> c + " against " + mode + ": " + detail);
    }

    @org.junit.jupiter.api.Test
    void strictAnswersOpensslWithoutACertificateWithAnAlert() throws Exception {
        StringBuilder detail = new StringBuilder();
        assertEquals(Outcome.REFUSED, openssl(Mode.STRICT, detail, false));
        String out = detail.toString();
        assertTrue(out.contains("alert") && !out.contains("HTTP/1.1 200"),
                "the server refuses the handshake with a TLS alert: " + out);
    }

    @org.junit.jupiter.api.Test
    void disableAnswersTlsWithPlaintextHttp() throws Exception {
        StringBuilder detail = new StringBuilder();
        assertEquals(Outcome.REFUSED, openssl(Mode.DISABLE, detail, true));
        String out = detail.toString();
        assertTrue(out.contains("wrong version number") || out.contains("packet length too long")
                || out.contains("record layer failure"), "the port speaks plaintext only: " + out);
    }

    // ---- the clients

    private static Outcome curl(StringBuilder detail, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--max-time", "5"));
        all.addAll(List.of(args));
        Curl.Result r = Curl.run(all.toArray(String[]::new));
        detail.append(r);
        return r.exitCode == 0 && r.status == 200 && r.body.contains("app") ? Outcome.SERVED : Outcome.REFUSED;
    }

    /**
     * Runs {@code openssl s_client} offering ALPN {@code istio} and {@code http/1.1}, sends a request line after the
     * handshake and reads until the server closes: the handshake is SERVED when the session verified against the mesh
     * CA ({@code Verify return code: 0}), {@code http/1.1} was agreed (Istio's inbound HTTP chains offer {@code h2} and
     * {@code http/1.1}, not {@code istio}), and no alert came (a server that wants a
     * certificate and gets none answers with an alert, after the handshake in TLS 1.3).
     */
    private static Outcome openssl(Mode m, StringBuilder detail, boolean withCertificate) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", IPS.get(m) + ":" + http.port(),
                "-alpn", "istio,http/1.1", "-CAfile", mesh.ca.caCertificate().toString(), "-verify_return_error"));
        if (withCertificate) {
            cmd.addAll(List.of("-cert", curlCert.certificateChain().toString(),
                    "-key", curlCert.privateKey().toString()));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().write("GET /hello HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().flush();
        if (!p.waitFor(15, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        detail.append("exit ").append(p.exitValue()).append(": ").append(out);
        boolean verified = out.contains("Verify return code: 0 (ok)");
        boolean istioAlpn = out.contains("ALPN protocol: http/1.1");
        boolean alert = out.contains("alert");
        return verified && istioAlpn && !alert && out.contains("HTTP/1.1 200") ? Outcome.SERVED : Outcome.REFUSED;
    }

    private static Outcome grpcCall(Mode m, ChannelCredentials creds, StringBuilder detail) throws Exception {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress(IPS.get(m), grpcPort(), creds)
                .overrideAuthority(app(m) + ".default.svc.cluster.local").build();
        try {
            SimpleResponse r = SimpleServiceGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("mesh").build());
            detail.append(r.getResponseMessage());
            return r.getResponseMessage().equals("hi mesh") ? Outcome.SERVED : Outcome.REFUSED;
        } catch (StatusRuntimeException e) {
            detail.append(e.getStatus());
            return Outcome.REFUSED;
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /**
     * What an Istio client checks of a server: the chain to the mesh CA and the server's SPIFFE ID (a URI SAN; a
     * workload certificate has no DNS name, so no host name is checked).
     */
    private static final class SpiffeTrustManager extends X509ExtendedTrustManager {
        private final X509TrustManager chain;
        private final String spiffeId;

        SpiffeTrustManager(X509Certificate ca, String spiffeId) throws Exception {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("mesh-ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            this.chain = (X509TrustManager) tmf.getTrustManagers()[0];
            this.spiffeId = spiffeId;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] certs, String authType) throws CertificateException {
            chain.checkServerTrusted(certs, authType);
            java.util.Collection<List<?>> sans = certs[0].getSubjectAlternativeNames();
            boolean match = sans != null && sans.stream().anyMatch(s -> Integer.valueOf(6).equals(s.get(0))
                    && spiffeId.equals(s.get(1)));
            if (!match) {
                throw new CertificateException("server identity " + sans + " (expected: " + spiffeId + ")");
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] certs, String authType, Socket socket)
                throws CertificateException {
            checkServerTrusted(certs, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] certs, String authType, SSLEngine engine)
                throws CertificateException {
            checkServerTrusted(certs, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] certs, String authType) throws CertificateException {
            throw new CertificateException("a client trust manager only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] certs, String authType, Socket socket)
                throws CertificateException {
            checkClientTrusted(certs, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] certs, String authType, SSLEngine engine)
                throws CertificateException {
            checkClientTrusted(certs, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return chain.getAcceptedIssuers();
        }
    }
}

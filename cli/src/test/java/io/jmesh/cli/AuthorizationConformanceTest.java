package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.jmesh.cli.MutualTlsMesh.Identity;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;

/**
 * Istio's authorization and request authentication task pages as a table (the YAML fixtures of
 * {@code authz-conformance/}, one file per page), run through two sidecars with STRICT mutual TLS: discovery with
 * its CA; the workload {@code httpbin.foo} (an HTTP backend, a gRPC-Java {@code SimpleService}, a TCP port) behind
 * its sidecar; two clients, {@code sleep.foo} and {@code sleep.bar}, each calling through its own sidecar with its
 * own SPIFFE certificate. Each case writes its policies in discovery's config directory, waits until the
 * server's sidecar has ACKed the listeners discovery generated from them, and sends its requests with curl, a
 * gRPC-Java client or a TCP connection: the outcomes a user sees (status and body, gRPC status, connection kept or
 * closed) must be the page's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorizationConformanceTest {

    private static final String FIXTURES = "authz-conformance/";
    private static final List<String> PAGES = List.of("authz-http.yaml", "authz-deny.yaml", "authz-tcp.yaml",
            "authz-ip.yaml", "authz-jwt.yaml", "authn-jwt.yaml", "authz-custom.yaml", "authz-dry-run.yaml");

    private static final String SERVER_IP = "127.0.0.31";
    private static final Identity HTTPBIN = new Identity("foo", "httpbin");
    private static final Identity SLEEP_FOO = new Identity("foo", "sleep");
    private static final Identity SLEEP_BAR = new Identity("bar", "sleep");
    private static final String HOST = "httpbin.foo.svc.cluster.local";
    private static final int HTTP = 8000;
    private static final int GRPC = 9000;
    private static final int TCP = 9100;
    private static final String ISSUER = "testing@secure.istio.io";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** A request of a case and the outcome expected. */
    record Request(String from, String protocol, String method, String path, Map<String, String> headers, String jwt,
                   String expect) {
        @Override
        public String toString() {
            String what = switch (protocol) {
                case "grpc" -> "grpc UnaryRpc";
                case "tcp" -> "tcp";
                default -> method + " " + path + (headers.isEmpty() ? "" : " " + headers);
            };
            return from + " " + what + (jwt == null ? "" : " jwt=" + jwt);
        }
    }

    /** One example of a page: its policies and its requests. */
    record Case(String page, String name, String config, List<Request> requests) {
        @Override
        public String toString() {
            return page + ": " + name;
        }
    }

    private TestBackend httpBackend;
    private TestBackend tcpBackend;
    private Server grpcBackend;
    private HttpServer extAuthz;
    private MutualTlsMesh mesh;
    private ProxyServer server;
    private final Map<String, ProxyServer> clients = new LinkedHashMap<>();
    private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
    private final Map<String, String> tokens = new LinkedHashMap<>();
    private String jwks;

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (String page : PAGES) {
            JsonNode doc;
            try (InputStream in = AuthorizationConformanceTest.class.getResourceAsStream(FIXTURES + page)) {
                doc = YAML.readTree(in);
            }
            String title = page.replace(".yaml", "");
            for (JsonNode c : doc.get("cases")) {
                List<Request> requests = new ArrayList<>();
                for (JsonNode r : c.get("requests")) {
                    Map<String, String> headers = new LinkedHashMap<>();
                    if (r.has("headers")) {
                        r.get("headers").fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
                    }
                    requests.add(new Request(r.get("from").asText(), r.path("protocol").asText("http"),
                            r.path("method").asText("GET"), r.path("path").asText("/"), headers,
                            r.has("jwt") ? r.get("jwt").asText() : null, r.get("expect").asText()));
                }
                out.add(Arguments.of(new Case(title, c.get("name").asText(), c.get("config").asText(), requests)));
            }
        }
        return out.stream();
    }

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        makeTokens();
        httpBackend = TestBackend.start("httpbin");
        tcpBackend = TestBackend.start("httpbin-tcp");
        grpcBackend = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest req, StreamObserver<SimpleResponse> out) {
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("hello " + req.getRequestMessage())
                                .build());
                        out.onCompleted();
                    }
                }).build().start();
        extAuthz = sampleExtAuthz();
        Path config = Files.createDirectories(dir.resolve("config"));
        Path security = Files.createDirectories(dir.resolve("security"));
        Path meshConfig = Files.writeString(dir.resolve("meshconfig.yaml"), """
                extensionProviders:
                - name: sample-ext-authz-http
                  envoyExtAuthzHttp:
                    service: ext-authz.foo.svc.cluster.local
                    port: 8000
                    includeRequestHeadersInCheck: ["x-ext-authz"]
                """);
        Files.writeString(config.resolve("mesh.yaml"), """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: httpbin, namespace: foo}
                spec:
                  hosts: [%1$s]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports:
                  - {number: %2$d, name: http, protocol: HTTP}
                  - {number: %3$d, name: grpc, protocol: GRPC}
                  - {number: %4$d, name: tcp, protocol: TCP}
                  workloadSelector: {labels: {app: httpbin}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: httpbin, namespace: foo}
                spec:
                  address: %5$s
                  serviceAccount: httpbin
                  ports: {http: %6$d, grpc: %7$d, tcp: %8$d}
                  labels: {app: httpbin, security.istio.io/tlsMode: istio}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ext-authz, namespace: foo}
                spec:
                  hosts: [ext-authz.foo.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 8000, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %9$d}}]
                """.formatted(HOST, HTTP, GRPC, TCP, SERVER_IP, httpBackend.port(), grpcBackend.getPort(),
                tcpBackend.port(), extAuthz.getAddress().getPort()));
        mesh = MutualTlsMesh.start(config, security, meshConfig, List.of(HTTPBIN, SLEEP_FOO, SLEEP_BAR));
        server = mesh.serverSidecar(HTTPBIN, SERVER_IP, Map.of("app", "httpbin"));
        clients.put("sleep.foo", mesh.clientSidecar(SLEEP_FOO, "127.0.0.32", Map.of("app", "sleep"),
                Set.of(HTTP, GRPC, TCP)));
        clients.put("sleep.bar", mesh.clientSidecar(SLEEP_BAR, "127.0.0.33", Map.of("app", "sleep"),
                Set.of(HTTP, GRPC, TCP)));
        for (String port : List.of(HTTP + "", GRPC + "", TCP + "")) {
            String name = SERVER_IP + "_" + switch (port) {
                case "8000" -> httpBackend.port();
                case "9000" -> grpcBackend.getPort();
                default -> tcpBackend.port();
            };
            Poll.until(() -> server.listenerAddresses().containsKey(name), "httpbin's inbound listener " + name,
                    Duration.ofSeconds(60));
        }
        for (Map.Entry<String, ProxyServer> c : clients.entrySet()) {
            for (int port : List.of(HTTP, GRPC, TCP)) {
                Poll.until(() -> c.getValue().listenerAddresses().containsKey("0.0.0.0_" + port),
                        c.getKey() + "'s outbound listener " + port, Duration.ofSeconds(60));
            }
            channels.put(c.getKey(), NettyChannelBuilder.forAddress("127.0.0.1", outbound(c.getKey(), GRPC))
                    .usePlaintext().overrideAuthority(HOST + ":" + GRPC).build());
        }
        for (String from : clients.keySet()) {
            for (String protocol : List.of("http", "grpc", "tcp")) {
                Request r = new Request(from, protocol, "GET", "/", Map.of(), null, "");
                String ok = protocol.equals("http") ? "200" : protocol.equals("grpc") ? "OK" : "connected";
                try {
                    Poll.until(() -> ok.equals(send(r)), "first " + r + " through both sidecars (mTLS)",
                            Duration.ofSeconds(60));
                } catch (AssertionError e) {
                    StringBuilder dbg = new StringBuilder();
                    for (ProxyServer p : List.of(server, clients.get(from))) {
                        p.dynamicConfig().dumpClusters().forEach((k, v) -> {
                            if (k.contains("9000") || k.contains("" + grpcBackend.getPort())) {
                                dbg.append(k).append(": ").append(v.resource()).append('\n');
                            }
                        });
                        p.stats().counterValues().forEach((k, v) -> {
                            if (v != 0 && (k.contains("9000") || k.contains("" + grpcBackend.getPort()))) {
                                dbg.append(k).append('=').append(v).append('\n');
                            }
                        });
                    }
                    throw new AssertionError(e.getMessage() + ": " + send(r) + "\n" + dbg, e);
                }
            }
        }
    }

    @AfterAll
    void stop() throws Exception {
        channels.values().forEach(ManagedChannel::shutdownNow);
        if (mesh != null) {
            mesh.close();
        }
        if (grpcBackend != null) {
            grpcBackend.shutdownNow();
        }
        if (extAuthz != null) {
            extAuthz.stop(0);
        }
        if (httpBackend != null) {
            httpBackend.close();
        }
        if (tcpBackend != null) {
            tcpBackend.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theSidecarDecidesAsTheTaskPageSays(Case c) throws Exception {
        String config = c.config().replace("%HTTP_PORT%", String.valueOf(httpBackend.port()))
                .replace("%GRPC_PORT%", String.valueOf(grpcBackend.getPort()))
                .replace("%TCP_PORT%", String.valueOf(tcpBackend.port()))
                .replace("%JWKS%", jwks);
        mesh.apply("policies.yaml", config.isBlank() ? null : config, keys(config),
                List.of(MutualTlsMesh.nodeId(HTTPBIN, SERVER_IP)));
        List<String> expected = new ArrayList<>();
        List<String> actual = new ArrayList<>();
        for (Request r : c.requests()) {
            expected.add(r + " -> " + r.expect());
            actual.add(r + " -> " + send(r));
        }
        assertEquals(String.join("\n", expected), String.join("\n", actual));
    }

    /** The {@code Kind/namespace/name} of each object of {@code yaml}. */
    private static Set<String> keys(String yaml) throws IOException {
        Set<String> keys = new TreeSet<>();
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (docs.hasNext()) {
                JsonNode d = docs.next();
                if (d != null && d.has("kind")) {
                    keys.add(d.get("kind").asText() + "/" + d.at("/metadata/namespace").asText() + "/"
                            + d.at("/metadata/name").asText());
                }
            }
        }
        return keys;
    }

    private int outbound(String client, int port) {
        return clients.get(client).listenerAddresses().get("0.0.0.0_" + port).getPort();
    }

    /** Sends {@code r} from its client through its sidecar; returns what the client saw. */
    private String send(Request r) {
        try {
            return switch (r.protocol()) {
                case "grpc" -> grpc(r);
                case "tcp" -> {
                    Curl.Result res = Curl.run("http://127.0.0.1:" + outbound(r.from(), TCP) + "/");
                    yield res.status == 200 ? "connected" : res.status == 0 ? "closed" : "status " + res.status;
                }
                default -> {
                    List<String> args = new ArrayList<>(List.of("-X", r.method(), "-H", "Host: " + HOST + ":" + HTTP));
                    r.headers().forEach((k, v) -> args.addAll(List.of("-H", k + ": " + v)));
                    if (r.jwt() != null) {
                        args.addAll(List.of("-H", "Authorization: Bearer " + tokens.get(r.jwt())));
                    }
                    args.add("http://127.0.0.1:" + outbound(r.from(), HTTP) + r.path());
                    Curl.Result res = Curl.run(args.toArray(String[]::new));
                    if (res.status == 503 && res.body.contains("reset before headers")) {
                        // The first request after a listener update may take a pooled upstream connection that the
                        // server's sidecar is closing (drain): resent once, as Istio's default retry policy does.
                        res = Curl.run(args.toArray(String[]::new));
                    }
                    yield res.status == 401 || res.status == 403 ? res.status + " " + res.body.trim()
                            : String.valueOf(res.status);
                }
            };
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e.toString();
        }
    }

    private String grpc(Request r) {
        Metadata headers = new Metadata();
        if (r.jwt() != null) {
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
                    "Bearer " + tokens.get(r.jwt()));
        }
        try {
            SimpleServiceGrpc.newBlockingStub(channels.get(r.from()))
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(20, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("conformance").build());
            return "OK";
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode() + ": " + e.getStatus().getDescription();
        }
    }

    /** The test issuer's key set and tokens, as Istio's {@code security/tools/jwt/samples} ones. */
    private void makeTokens() throws Exception {
        RSAKey key = new RSAKeyGenerator(2048).keyID("DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ").generate();
        RSAKey other = new RSAKeyGenerator(2048).keyID(key.getKeyID()).generate();
        jwks = new JWKSet(key.toPublicJWK()).toString();
        Date future = new Date(System.currentTimeMillis() + TimeUnit.DAYS.toMillis(365));
        tokens.put("demo", token(key, new JWTClaimsSet.Builder().issuer(ISSUER).subject(ISSUER)
                .expirationTime(future).build()));
        tokens.put("groups", token(key, new JWTClaimsSet.Builder().issuer(ISSUER).subject(ISSUER)
                .expirationTime(future).claim("groups", List.of("group1", "group2")).build()));
        tokens.put("expired", token(key, new JWTClaimsSet.Builder().issuer(ISSUER).subject(ISSUER)
                .expirationTime(new Date(System.currentTimeMillis() - TimeUnit.HOURS.toMillis(1))).build()));
        tokens.put("invalid", token(other, new JWTClaimsSet.Builder().issuer(ISSUER).subject(ISSUER)
                .expirationTime(future).build()));
    }

    private static String token(RSAKey key, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /**
     * Istio's sample ext-authz server ({@code samples/extauthz}), HTTP side: allows a request whose check carries
     * {@code x-ext-authz: allow}, denies the others with 403 and its message.
     */
    private static HttpServer sampleExtAuthz() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            if ("allow".equals(exchange.getRequestHeaders().getFirst("x-ext-authz"))) {
                exchange.getResponseHeaders().add("x-ext-authz-check-result", "allowed");
                exchange.sendResponseHeaders(200, -1);
            } else {
                byte[] body = "denied by ext_authz for not found header `x-ext-authz: allow` in the request"
                        .getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("x-ext-authz-check-result", "denied");
                exchange.sendResponseHeaders(403, body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        server.start();
        return server;
    }
}

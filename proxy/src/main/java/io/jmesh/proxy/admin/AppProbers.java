package io.jmesh.proxy.admin;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.jmesh.proxy.internal.Transports;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

/**
 * The application's original Kubernetes probes, as pilot-agent runs them for a pod whose probes the injector
 * rewrote to {@code :15020/app-health/<container>/livez|readyz|startupz}: parsed from the env
 * {@code ISTIO_KUBE_APP_PROBERS} (JSON: a map from the rewritten path to {@code {"httpGet": {...}} } or
 * {@code {"tcpSocket": {...}}} plus {@code timeoutSeconds}). An {@code httpGet} probe is sent to the application on
 * 127.0.0.1 (or its {@code host}) with its {@code port}, {@code path}, {@code scheme} and {@code httpHeaders}; the
 * probe answers the application's status code, 503 when it cannot be reached. A {@code tcpSocket} probe answers 200
 * when the port accepts a connection, 500 otherwise. A {@code grpc} probe calls {@code grpc.health.v1.Health/Check}
 * (plaintext, its {@code service}) and answers 200 for {@code SERVING}, 500 otherwise.
 */
public final class AppProbers {

    private static final Logger logger = LoggerFactory.getLogger(AppProbers.class);

    /** The env variable the injector sets. */
    public static final String ENV = "ISTIO_KUBE_APP_PROBERS";

    private static final Set<String> RESTRICTED = Set.of("connection", "content-length", "expect", "host", "upgrade");

    /** One parsed probe. */
    record Prober(String kind, String scheme, String host, int port, String path, Map<String, String> headers,
                  Duration timeout) {
    }

    private final Map<String, Prober> probers;
    private final HttpClient client;

    private AppProbers(Map<String, Prober> probers) {
        this.probers = Map.copyOf(probers);
        this.client = probers.isEmpty() ? null : HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).sslContext(trustAll()).build();
    }

    /** No probes. */
    public static AppProbers none() {
        return new AppProbers(Map.of());
    }

    /**
     * Parses the value of {@code ISTIO_KUBE_APP_PROBERS} (null or blank: no probes).
     *
     * @throws IllegalArgumentException naming the field when the JSON or a probe is not understood
     */
    public static AppProbers parse(String json) {
        if (json == null || json.isBlank()) {
            return none();
        }
        Struct root;
        try {
            Struct.Builder b = Struct.newBuilder();
            JsonFormat.parser().merge(json, b);
            root = b.build();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(ENV + ": " + json + " (expected: a JSON object of probes: "
                    + e.getMessage() + ")");
        }
        Map<String, Prober> out = new LinkedHashMap<>();
        root.getFieldsMap().forEach((path, v) -> {
            String field = ENV + "." + path;
            if (!path.startsWith("/app-health/")) {
                throw new IllegalArgumentException(field + ": " + path + " (expected: /app-health/<container>/"
                        + "livez|readyz|startupz)");
            }
            Map<String, Value> p = v.getStructValue().getFieldsMap();
            Duration timeout = Duration.ofSeconds(p.containsKey("timeoutSeconds")
                    ? Math.max(1, (long) p.get("timeoutSeconds").getNumberValue()) : 1);
            if (p.containsKey("httpGet")) {
                Map<String, Value> h = p.get("httpGet").getStructValue().getFieldsMap();
                String scheme = str(h, "scheme", "HTTP").toUpperCase(java.util.Locale.ROOT);
                if (!scheme.equals("HTTP") && !scheme.equals("HTTPS")) {
                    throw new IllegalArgumentException(field + ".httpGet.scheme: " + scheme + " (expected: HTTP or HTTPS)");
                }
                String probePath = str(h, "path", "/");
                if (!probePath.startsWith("/")) {
                    probePath = "/" + probePath;
                }
                Map<String, String> headers = new LinkedHashMap<>();
                if (h.containsKey("httpHeaders")) {
                    for (Value hv : h.get("httpHeaders").getListValue().getValuesList()) {
                        Map<String, Value> nv = hv.getStructValue().getFieldsMap();
                        headers.put(str(nv, "name", ""), str(nv, "value", ""));
                    }
                }
                out.put(path, new Prober("httpGet", scheme.toLowerCase(java.util.Locale.ROOT),
                        str(h, "host", "127.0.0.1"), port(h, field + ".httpGet.port"), probePath, headers, timeout));
            } else if (p.containsKey("tcpSocket")) {
                Map<String, Value> t = p.get("tcpSocket").getStructValue().getFieldsMap();
                out.put(path, new Prober("tcpSocket", "", str(t, "host", "127.0.0.1"),
                        port(t, field + ".tcpSocket.port"), "", Map.of(), timeout));
            } else if (p.containsKey("grpc")) {
                Map<String, Value> g = p.get("grpc").getStructValue().getFieldsMap();
                out.put(path, new Prober("grpc", "", "127.0.0.1", port(g, field + ".grpc.port"),
                        str(g, "service", ""), Map.of(), timeout));
            } else {
                throw new IllegalArgumentException(field + ": " + p.keySet() + " (expected: httpGet, tcpSocket or "
                        + "grpc)");
            }
        });
        return new AppProbers(out);
    }

    private static String str(Map<String, Value> m, String k, String dflt) {
        Value v = m.get(k);
        return v == null || v.getStringValue().isEmpty() ? dflt : v.getStringValue();
    }

    private static int port(Map<String, Value> m, String field) {
        Value v = m.get("port");
        if (v == null || v.hasStringValue() || v.getNumberValue() < 1 || v.getNumberValue() > 65535) {
            // The injector resolves named ports to numbers, as Istio's does.
            throw new IllegalArgumentException(field + ": " + (v == null ? "missing" : JsonText.of(v))
                    + " (expected: a port number 1-65535)");
        }
        return (int) v.getNumberValue();
    }

    /** Whether {@code path} is a known probe. */
    public boolean has(String path) {
        return probers.containsKey(path);
    }

    /** The probe paths. */
    public Set<String> paths() {
        return probers.keySet();
    }

    /**
     * Runs the probe of {@code path} (must be {@link #has known}); completes with the HTTP status to answer. No
     * thread blocks: HTTP probes use {@link HttpClient#sendAsync}, TCP probes connect on {@code group}.
     */
    public CompletableFuture<Integer> run(String path, EventLoopGroup group) {
        Prober p = probers.get(path);
        if (p.kind().equals("tcpSocket")) {
            CompletableFuture<Integer> result = new CompletableFuture<>();
            new Bootstrap().group(group)
                    .channel(Transports.socketChannel(group))
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) p.timeout().toMillis())
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                        }
                    })
                    .connect(new InetSocketAddress(p.host(), p.port()))
                    .addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            f.channel().close();
                            result.complete(200);
                        } else {
                            logger.debug("probe {}: tcp {}:{}: {}", path, p.host(), p.port(), f.cause().toString());
                            result.complete(500);
                        }
                    });
            return result;
        }
        if (p.kind().equals("grpc")) {
            return grpcCheck(path, p);
        }
        URI uri = URI.create(p.scheme() + "://" + hostForUri(p.host()) + ":" + p.port() + p.path());
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(p.timeout()).GET();
        req.header("User-Agent", "kube-probe/1.28");
        p.headers().forEach((n, v) -> {
            if (!n.isEmpty() && !RESTRICTED.contains(n.toLowerCase(java.util.Locale.ROOT))) {
                req.setHeader(n, v);
            }
        });
        return client.sendAsync(req.build(), HttpResponse.BodyHandlers.discarding()).handle((resp, err) -> {
            if (err != null) {
                logger.debug("probe {}: {}: {}", path, uri, err.toString());
                return 503;
            }
            return resp.statusCode();
        });
    }

    private static final io.grpc.MethodDescriptor.Marshaller<byte[]> BYTES =
            new io.grpc.MethodDescriptor.Marshaller<>() {
                @Override
                public java.io.InputStream stream(byte[] value) {
                    return new java.io.ByteArrayInputStream(value);
                }

                @Override
                public byte[] parse(java.io.InputStream stream) {
                    try {
                        return stream.readAllBytes();
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            };

    private static final io.grpc.MethodDescriptor<byte[], byte[]> HEALTH_CHECK =
            io.grpc.MethodDescriptor.<byte[], byte[]>newBuilder().setType(io.grpc.MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName("grpc.health.v1.Health/Check").setRequestMarshaller(BYTES)
                    .setResponseMarshaller(BYTES).build();

    /** {@code grpc.health.v1.Health/Check}: the request and response are encoded by hand (one field each). */
    private static CompletableFuture<Integer> grpcCheck(String path, Prober p) {
        CompletableFuture<Integer> result = new CompletableFuture<>();
        io.grpc.ManagedChannel ch = io.grpc.Grpc.newChannelBuilderForAddress(p.host(), p.port(),
                io.grpc.InsecureChannelCredentials.create()).build();
        try {
            var out = new java.io.ByteArrayOutputStream();
            var coded = com.google.protobuf.CodedOutputStream.newInstance(out);
            if (!p.path().isEmpty()) {
                coded.writeString(1, p.path()); // HealthCheckRequest.service
            }
            coded.flush();
            io.grpc.stub.ClientCalls.asyncUnaryCall(ch.newCall(HEALTH_CHECK,
                    io.grpc.CallOptions.DEFAULT.withDeadlineAfter(p.timeout().toMillis(),
                            java.util.concurrent.TimeUnit.MILLISECONDS)), out.toByteArray(),
                    new io.grpc.stub.StreamObserver<byte[]>() {
                        @Override
                        public void onNext(byte[] resp) {
                            int status = 0; // HealthCheckResponse.status, 1 = SERVING
                            try {
                                var in = com.google.protobuf.CodedInputStream.newInstance(resp);
                                for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                                    if (tag == 8) {
                                        status = in.readEnum();
                                    } else {
                                        in.skipField(tag);
                                    }
                                }
                            } catch (java.io.IOException e) {
                                status = 0;
                            }
                            result.complete(status == 1 ? 200 : 500);
                        }

                        @Override
                        public void onError(Throwable t) {
                            logger.debug("probe {}: grpc {}:{}: {}", path, p.host(), p.port(), t.toString());
                            result.complete(500);
                        }

                        @Override
                        public void onCompleted() {
                            result.complete(500);
                        }
                    });
        } catch (java.io.IOException | RuntimeException e) {
            result.complete(500);
        }
        return result.whenComplete((c, e) -> ch.shutdownNow());
    }

    /**
     * As the kubelet: an HTTPS probe verifies neither the application's certificate nor its host name (Netty's
     * insecure trust manager is an {@code X509ExtendedTrustManager}, so the JDK adds no host name check).
     */
    private static javax.net.ssl.SSLContext trustAll() {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hostForUri(String host) {
        return host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** JSON text of a value for error messages. */
    private static final class JsonText {
        static String of(Value v) {
            try {
                return JsonFormat.printer().omittingInsignificantWhitespace().print(v);
            } catch (InvalidProtocolBufferException e) {
                return v.toString();
            }
        }
    }
}

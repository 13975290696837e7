package io.jmesh.security.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.jmesh.api.ca.v1.IstioCertificateRequest;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.CertificateAuthority;
import io.jmesh.security.ca.server.CaTls;
import io.jmesh.security.ca.server.IstioCertificateService;
import io.jmesh.security.ca.server.TokenAuthenticator;

/**
 * The mesh CA as {@code jmesh discovery} serves it, for tests of its clients: the real
 * {@link CertificateAuthority} (a self-signed root for {@code cluster.local}) behind the real
 * {@link IstioCertificateService} with a {@link TokenAuthenticator}, over real TLS on 127.0.0.1 (serving
 * certificate for {@code istiod.istio-system.svc} and IP 127.0.0.1). It records every request and its headers, so a
 * test can check what a client sent. {@link #stop()} and {@link #restart()} take it down and bring it back on the
 * same port (SO_REUSEADDR).
 *
 * <p>Files: {@code root-cert.pem} (the mesh root a client trusts) and {@code token} (a bearer token of
 * {@code ns/sa}) in the directory given.
 */
public final class TestMeshCa implements AutoCloseable {

    /** A request as the CA received it. */
    public record Received(IstioCertificateRequest request, Metadata headers) {}

    public final List<Received> received = new CopyOnWriteArrayList<>();
    private final CertificateAuthority ca;
    private final IstioCertificateService service;
    private final Path rootFile;
    private final Path tokenFile;
    private final java.util.Map<String, Path> tokenFiles = new java.util.LinkedHashMap<>();
    private Server server;
    private int port;

    private TestMeshCa(Path dir, String namespace, String... serviceAccounts) throws Exception {
        Files.createDirectories(dir);
        ca = new CertificateAuthority(CaRoots.selfSigned("cluster.local", Duration.ofDays(365), Clock.systemUTC()));
        rootFile = Files.writeString(dir.resolve("root-cert.pem"), ca.roots().trustBundlePem());
        StringBuilder yaml = new StringBuilder("tokens:\n");
        Path first = null;
        for (String serviceAccount : serviceAccounts) {
            String token = "token-of-" + namespace + "-" + serviceAccount + "-" + System.nanoTime();
            Path file = Files.writeString(dir.resolve(first == null ? "token" : "token-" + serviceAccount), token + "\n");
            first = first == null ? file : first;
            tokenFiles.put(serviceAccount, file);
            yaml.append("""
                    - token: %s
                      namespace: %s
                      serviceAccount: %s
                    """.formatted(token, namespace, serviceAccount));
        }
        tokenFile = first;
        Path tokens = Files.writeString(dir.resolve("tokens.yaml"), yaml);
        service = new IstioCertificateService(ca, List.of(new TokenAuthenticator(tokens, "cluster.local")));
        start(0);
    }

    /** A CA that knows one token, for {@code namespace/serviceAccount}, on a free port of 127.0.0.1. */
    public static TestMeshCa start(Path dir, String namespace, String serviceAccount) throws Exception {
        return new TestMeshCa(dir, namespace, serviceAccount);
    }

    /**
     * A CA that knows one token per service account of {@code namespace}; {@link #tokenFile()} is the first's,
     * {@link #tokenFile(String)} any one's.
     */
    public static TestMeshCa start(Path dir, String namespace, String firstServiceAccount, String... more)
            throws Exception {
        String[] all = new String[more.length + 1];
        all[0] = firstServiceAccount;
        System.arraycopy(more, 0, all, 1, more.length);
        return new TestMeshCa(dir, namespace, all);
    }

    private void start(int bindPort) throws Exception {
        ServerCredentials creds = CaTls.serverCredentials(ca, List.of(CaTls.ISTIOD_SAN), List.of("127.0.0.1"));
        ServerInterceptor record = new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
                        next.startCall(call, headers)) {
                    @Override
                    public void onMessage(Q message) {
                        received.add(new Received((IstioCertificateRequest) message, headers));
                        super.onMessage(message);
                    }
                };
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", bindPort), creds)
                .withOption(ChannelOption.SO_REUSEADDR, true)
                .addService(ServerInterceptors.intercept(service.bindService(), record))
                .build().start();
        port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    /** {@code 127.0.0.1:<port>}. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /** The mesh root (PEM) a client checks the CA's serving certificate against. */
    public Path rootFile() {
        return rootFile;
    }

    /** A file holding the bearer token of the identity given at start. */
    public Path tokenFile() {
        return tokenFile;
    }

    /** The bearer-token file of {@code serviceAccount} (one given at start). */
    public Path tokenFile(String serviceAccount) {
        Path p = tokenFiles.get(serviceAccount);
        if (p == null) {
            throw new IllegalArgumentException("serviceAccount: " + serviceAccount + " (expected: one of "
                    + tokenFiles.keySet() + ")");
        }
        return p;
    }

    public X509Certificate root() {
        return ca.roots().root();
    }

    /** Takes the CA down: calls fail with UNAVAILABLE. */
    public void stop() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Brings the CA back on the same port. */
    public void restart() throws Exception {
        start(port);
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

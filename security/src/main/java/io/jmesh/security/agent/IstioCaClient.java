package io.jmesh.security.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.StreamObserver;
import io.jmesh.api.ca.v1.IstioCertificateRequest;
import io.jmesh.api.ca.v1.IstioCertificateResponse;
import io.jmesh.api.ca.v1.IstioCertificateServiceGrpc;

/**
 * A {@link CaClient} for Istio's CA API ({@code istio.v1.auth.IstioCertificateService/CreateCertificate}), as
 * Istio's agent calls it ({@code security/pkg/nodeagent/caclient/providers/citadel}): TLS checked against the
 * mesh root file, and, when a token file is given, {@code authorization: Bearer <token>} with the token read from
 * the file on every call (Kubernetes rotates projected tokens). Each call has a 10 s deadline. After an
 * {@code UNAVAILABLE} the next call dials the CA afresh ({@link SecretCache} has the back-off, not gRPC).
 */
public final class IstioCaClient implements CaClient {

    private static final Logger logger = LoggerFactory.getLogger(IstioCaClient.class);

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final String address;
    private final ChannelCredentials creds;
    private final Path tokenFile;
    private final AtomicReference<ManagedChannel> channel = new AtomicReference<>();
    private volatile boolean closed;

    private IstioCaClient(String address, ChannelCredentials creds, Path tokenFile) {
        this.address = address;
        this.creds = creds;
        this.tokenFile = tokenFile;
    }

    /**
     * A client of the CA at {@code address} ({@code host:port}).
     *
     * @param caRoot    PEM root(s) the CA's serving certificate must chain to; {@code null} for plaintext (only for
     *                  a CA on loopback or a trusted network, logged as a warning)
     * @param tokenFile a file holding the bearer token; {@code null} sends none
     * @throws IllegalArgumentException naming the flag when {@code caRoot} or {@code tokenFile} cannot be read
     */
    public static IstioCaClient create(String address, Path caRoot, Path tokenFile) {
        ChannelCredentials creds;
        if (caRoot == null) {
            logger.warn("CA {}: plaintext (no CA root given): the CA is not authenticated", address);
            creds = InsecureChannelCredentials.create();
        } else {
            try {
                creds = TlsChannelCredentials.newBuilder().trustManager(caRoot.toFile()).build();
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("--ca-root: " + caRoot + " (expected: a readable PEM file of "
                                                   + "root certificates: " + e.getMessage() + ")", e);
            }
        }
        if (tokenFile != null && !Files.isReadable(tokenFile)) {
            throw new IllegalArgumentException("--token-file: " + tokenFile + " (expected: a readable file)");
        }
        return new IstioCaClient(address, creds, tokenFile);
    }

    @Override
    public CompletableFuture<List<String>> sign(String csrPem, Duration ttl) {
        CompletableFuture<List<String>> result = new CompletableFuture<>();
        IstioCertificateRequest req = IstioCertificateRequest.newBuilder().setCsr(csrPem)
                .setValidityDuration(ttl.toSeconds()).build();
        ManagedChannel ch = channel();
        IstioCertificateServiceGrpc.IstioCertificateServiceStub stub = IstioCertificateServiceGrpc.newStub(ch)
                .withDeadlineAfter(10, TimeUnit.SECONDS);
        if (tokenFile != null) {
            stub = stub.withCallCredentials(new TokenCredentials(tokenFile));
        }
        stub.createCertificate(req, new StreamObserver<>() {
            @Override
            public void onNext(IstioCertificateResponse r) {
                if (r.getCertChainCount() == 0) {
                    result.completeExceptionally(new IllegalStateException("cert_chain: [] (expected: leaf first, "
                                                                           + "root last)"));
                } else {
                    result.complete(List.copyOf(r.getCertChainList()));
                }
            }

            @Override
            public void onError(Throwable t) {
                if (Status.fromThrowable(t).getCode() == Status.Code.UNAVAILABLE && channel.compareAndSet(ch, null)) {
                    // The agent's own back-off decides when to try again: the next call dials the CA on a new
                    // channel at once instead of failing fast during gRPC's reconnect back-off.
                    ch.shutdown();
                }
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                result.completeExceptionally(new IllegalStateException("CreateCertificate: no response"));
            }
        });
        return result;
    }

    private ManagedChannel channel() {
        while (true) {
            ManagedChannel ch = channel.get();
            if (ch != null) {
                return ch;
            }
            ManagedChannel created = Grpc.newChannelBuilder(address, creds).build();
            if (channel.compareAndSet(null, created)) {
                if (closed) {
                    created.shutdownNow();
                }
                return created;
            }
            created.shutdownNow();
        }
    }

    @Override
    public void close() {
        closed = true;
        ManagedChannel ch = channel.getAndSet(null);
        if (ch != null) {
            ch.shutdownNow();
        }
    }

    /** {@code authorization: Bearer <token>}, the token read from its file on each call. */
    private static final class TokenCredentials extends CallCredentials {
        private final Path file;

        TokenCredentials(Path file) {
            this.file = file;
        }

        @Override
        public void applyRequestMetadata(RequestInfo info, Executor appExecutor, MetadataApplier applier) {
            appExecutor.execute(() -> {
                try {
                    String token = Files.readString(file, StandardCharsets.UTF_8).trim();
                    Metadata h = new Metadata();
                    h.put(AUTHORIZATION, "Bearer " + token);
                    applier.apply(h);
                } catch (IOException e) {
                    applier.fail(Status.UNAUTHENTICATED.withDescription("--token-file: " + file + ": " + e)
                                         .withCause(e));
                }
            });
        }
    }
}

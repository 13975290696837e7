package io.jmesh.security.agent;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

/** A real gRPC-Java SDS client over the agent's Unix domain socket: one StreamSecrets stream, as Envoy opens it. */
public final class SdsClient implements AutoCloseable {

    public static final String NODE = "sidecar~127.0.0.1~reviews-v1.default~default.svc.cluster.local";

    public final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
    public final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    private final ManagedChannel channel;
    private final StreamObserver<DiscoveryRequest> requests;

    public SdsClient(Path socket) {
        channel = Grpc.newChannelBuilder("unix:" + socket, InsecureChannelCredentials.create()).build();
        requests = SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse r) {
                responses.add(r);
            }

            @Override
            public void onError(Throwable t) {
                errors.add(t);
            }

            @Override
            public void onCompleted() {
            }
        });
    }

    /** The first request of a stream: node and names. */
    public void ask(String... names) {
        requests.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(NODE))
                                .setTypeUrl(SdsServer.SECRET_TYPE).addAllResourceNames(List.of(names)).build());
    }

    public void ack(DiscoveryResponse r, String... names) {
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(SdsServer.SECRET_TYPE)
                                .setVersionInfo(r.getVersionInfo()).setResponseNonce(r.getNonce())
                                .addAllResourceNames(List.of(names)).build());
    }

    public void nack(DiscoveryResponse r, String previousVersion, String... names) {
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(SdsServer.SECRET_TYPE)
                                .setVersionInfo(previousVersion).setResponseNonce(r.getNonce())
                                .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage("bad key"))
                                .addAllResourceNames(List.of(names)).build());
    }

    public void send(DiscoveryRequest r) {
        requests.onNext(r);
    }

    /** The next response, failing the test after 10 s. */
    public DiscoveryResponse next() throws InterruptedException {
        DiscoveryResponse r = responses.poll(10, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no SDS response within 10 s; errors: " + errors);
        }
        return r;
    }

    public static Secret secret(DiscoveryResponse r, String name) throws InvalidProtocolBufferException {
        for (var any : r.getResourcesList()) {
            Secret s = any.unpack(Secret.class);
            if (s.getName().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no secret " + name + " in " + r);
    }

    /** The leaf of the {@code default} secret of {@code r}. */
    public static X509Certificate leaf(DiscoveryResponse r) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(
                secret(r, SdsServer.WORKLOAD).getTlsCertificate().getCertificateChain().getInlineBytes().toByteArray()));
    }

    @Override
    public void close() {
        requests.onCompleted();
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

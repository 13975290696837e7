package io.jmesh.security.agent;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.stub.StreamObserver;
import io.jmesh.api.ca.v1.IstioCertificateRequest;
import io.jmesh.api.ca.v1.IstioCertificateResponse;
import io.jmesh.api.ca.v1.IstioCertificateServiceGrpc;

/**
 * A stand-in for the mesh CA (the real one, {@code io.jmesh.security.ca}, is built on another branch): a real
 * gRPC server over real TLS on 127.0.0.1 serving Istio's {@code IstioCertificateService}, signing each CSR with a
 * self-signed EC root for its requested validity and copying the CSR's SAN. It requires
 * {@code authorization: Bearer <token>}, and records every request and its headers so tests can check what the
 * agent sent. {@link #stop()} and {@link #restart()} take it down and bring it back on the same port.
 */
final class FakeIstioCa implements AutoCloseable {

    record Received(IstioCertificateRequest request, Metadata headers) {}

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    final List<Received> received = new CopyOnWriteArrayList<>();
    final Path rootFile;
    private final KeyPair rootKeys = WorkloadCsr.generateKeyPair(KeyType.EC_P256);
    private final X509Certificate root;
    private final Path serverCert;
    private final Path serverKey;
    private final String token;
    private Server server;
    private int port;

    FakeIstioCa(Path dir, String token) throws Exception {
        this.token = token;
        Files.createDirectories(dir);
        Instant now = Instant.now();
        X509v3CertificateBuilder rb = new JcaX509v3CertificateBuilder(new X500Name("O=cluster.local"),
                BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(365))), new X500Name("O=cluster.local"), rootKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        root = sign(rb);
        rootFile = dir.resolve("root-cert.pem");
        Files.writeString(rootFile, pem(root));
        KeyPair serverKeys = WorkloadCsr.generateKeyPair(KeyType.EC_P256);
        X509v3CertificateBuilder sb = new JcaX509v3CertificateBuilder(root,
                BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(1))), new X500Name("O=istiod"), serverKeys.getPublic())
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                        new GeneralName(GeneralName.dNSName, "localhost")}));
        serverCert = dir.resolve("ca-server.pem");
        serverKey = dir.resolve("ca-server-key.pem");
        Files.writeString(serverCert, pem(sign(sb)) + pem(root));
        Files.writeString(serverKey, WorkloadCsr.privateKeyPem(serverKeys.getPrivate()));
        start(0);
    }

    private X509Certificate sign(X509v3CertificateBuilder b) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKeys.getPrivate())));
    }

    static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(o);
        }
        return w.toString();
    }

    X509Certificate root() {
        return root;
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    private void start(int bindPort) throws IOException {
        ServerInterceptor record = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                             ServerCallHandler<Q, R> next) {
                if (!("Bearer " + token).equals(headers.get(AUTHORIZATION))) {
                    call.close(Status.UNAUTHENTICATED.withDescription("authorization: expected Bearer token"),
                               new Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return Contexts.interceptCall(io.grpc.Context.current().withValue(HEADERS, headers), call, headers,
                                              next);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", bindPort),
                                               TlsServerCredentials.create(serverCert.toFile(), serverKey.toFile()))
                .withOption(ChannelOption.SO_REUSEADDR, true)
                .addService(ServerInterceptors.intercept(new Service(), record))
                .build().start();
        port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    private static final io.grpc.Context.Key<Metadata> HEADERS = io.grpc.Context.key("headers");

    private final class Service extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {
        @Override
        public void createCertificate(IstioCertificateRequest req, StreamObserver<IstioCertificateResponse> out) {
            received.add(new Received(req, HEADERS.get()));
            try (PEMParser p = new PEMParser(new StringReader(req.getCsr()))) {
                JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest((PKCS10CertificationRequest)
                                                                                            p.readObject());
                Extensions ext = Extensions.getInstance(csr.getAttributes(
                        PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0].getAttrValues().getObjectAt(0));
                Instant now = Instant.now();
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(root,
                        BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now),
                        Date.from(now.plusSeconds(req.getValidityDuration())), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
                        csr.getPublicKey())
                        .addExtension(Extension.subjectAlternativeName, true,
                                      GeneralNames.fromExtensions(ext, Extension.subjectAlternativeName));
                out.onNext(IstioCertificateResponse.newBuilder().addCertChain(pem(sign(b))).addCertChain(pem(root))
                                   .build());
                out.onCompleted();
            } catch (Exception e) {
                out.onError(Status.INVALID_ARGUMENT.withDescription("csr: " + e).asRuntimeException());
            }
        }
    }

    /** Takes the CA down: new calls fail with UNAVAILABLE. */
    void stop() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Brings the CA back on the same port. */
    void restart() throws IOException {
        start(port);
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}

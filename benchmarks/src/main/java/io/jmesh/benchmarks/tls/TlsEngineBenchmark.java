package io.jmesh.benchmarks.tls;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;

/**
 * Netty's OpenSSL engine (BoringSSL, {@code netty-tcnative-boringssl-static}) against the JDK engine, in memory
 * (no sockets, one thread): {@code handshake} is a full TLS handshake between a fresh client and server engine
 * (server authentication with the given key type, no resumption), {@code request} one 512-byte request and one
 * 4 KiB response through an established TLS 1.3 session, both sides encrypting and decrypting. The time per
 * operation is CPU time of one core. Run:
 * {@code java -jar benchmarks/target/benchmarks.jar TlsEngine -f 1 -wi 3 -i 5 -w 1 -r 2}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class TlsEngineBenchmark {

    @Param({ "JDK", "OPENSSL" })
    public String provider;

    @Param({ "EC", "RSA" })
    public String key;

    private SslContext server;
    private SslContext client;
    private SSLEngine established;
    private SSLEngine establishedServer;
    private final ByteBuffer c2s = ByteBuffer.allocate(64 * 1024);
    private final ByteBuffer s2c = ByteBuffer.allocate(64 * 1024);
    private final ByteBuffer app = ByteBuffer.allocate(64 * 1024);
    private final ByteBuffer request = ByteBuffer.allocate(512);
    private final ByteBuffer response = ByteBuffer.allocate(4096);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        SslProvider p = SslProvider.valueOf(provider);
        String base = key.toLowerCase(java.util.Locale.ROOT);
        ApplicationProtocolConfig alpn = new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "http/1.1");
        try (InputStream cert = resource(base + ".pem"); InputStream k = resource(base + "-key.pem")) {
            server = SslContextBuilder.forServer(cert, k).sslProvider(p).applicationProtocolConfig(alpn)
                                      .protocols("TLSv1.3", "TLSv1.2").build();
        }
        try (InputStream cert = resource(base + ".pem")) {
            client = SslContextBuilder.forClient().sslProvider(p).trustManager(cert).applicationProtocolConfig(alpn)
                                      .protocols("TLSv1.3", "TLSv1.2").build();
        }
        established = client.newEngine(ByteBufAllocator.DEFAULT, "localhost", 443);
        establishedServer = server.newEngine(ByteBufAllocator.DEFAULT);
        handshake(established, establishedServer);
        // The TLS 1.3 session tickets the server sent after the handshake, and anything else still in flight.
        s2c.flip();
        while (s2c.hasRemaining()) {
            app.clear();
            if (established.unwrap(s2c, app).bytesConsumed() == 0) {
                break;
            }
        }
        c2s.flip();
        while (c2s.hasRemaining()) {
            app.clear();
            if (establishedServer.unwrap(c2s, app).bytesConsumed() == 0) {
                break;
            }
        }
        s2c.clear();
        c2s.clear();
        app.clear();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ReferenceCountUtil.release(established);
        ReferenceCountUtil.release(establishedServer);
        ReferenceCountUtil.release(server);
        ReferenceCountUtil.release(client);
    }

    private static InputStream resource(String name) {
        return TlsEngineBenchmark.class.getResourceAsStream("/tls/" + name);
    }

    @Benchmark
    public boolean handshake() throws SSLException {
        SSLEngine c = client.newEngine(ByteBufAllocator.DEFAULT, "localhost", 443);
        SSLEngine s = server.newEngine(ByteBufAllocator.DEFAULT);
        try {
            handshake(c, s);
            return c.getSession().isValid();
        } finally {
            c2s.clear();
            s2c.clear();
            app.clear();
            ReferenceCountUtil.release(c);
            ReferenceCountUtil.release(s);
        }
    }

    @Benchmark
    public int request() throws SSLException {
        request.clear();
        established.wrap(request, c2s);
        c2s.flip();
        app.clear();
        while (c2s.hasRemaining() && establishedServer.unwrap(c2s, app).bytesConsumed() > 0) {
            // a record per call
        }
        c2s.clear();
        int received = app.position();
        response.clear();
        establishedServer.wrap(response, s2c);
        s2c.flip();
        app.clear();
        while (s2c.hasRemaining() && established.unwrap(s2c, app).bytesConsumed() > 0) {
            // a record per call
        }
        s2c.clear();
        if (received != request.capacity() || app.position() != response.capacity()) {
            throw new SSLException("short transfer: " + received + " / " + app.position());
        }
        return app.position();
    }

    private void handshake(SSLEngine c, SSLEngine s) throws SSLException {
        c.beginHandshake();
        s.beginHandshake();
        for (int i = 0; i < 100; i++) {
            boolean cp = step(c, s2c, c2s);
            boolean sp = step(s, c2s, s2c);
            if (!cp && !sp && done(c) && done(s)) {
                return;
            }
        }
        throw new SSLException("handshake did not finish: " + c.getHandshakeStatus() + " / " + s.getHandshakeStatus());
    }

    private static boolean done(SSLEngine e) {
        SSLEngineResult.HandshakeStatus hs = e.getHandshakeStatus();
        return hs == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || hs == SSLEngineResult.HandshakeStatus.FINISHED;
    }

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private boolean step(SSLEngine e, ByteBuffer in, ByteBuffer out) throws SSLException {
        switch (e.getHandshakeStatus()) {
            case NEED_WRAP:
                e.wrap(EMPTY, out);
                return true;
            case NEED_UNWRAP: {
                in.flip();
                SSLEngineResult r = e.unwrap(in, app);
                in.compact();
                app.clear();
                return r.bytesConsumed() > 0 || r.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NEED_UNWRAP;
            }
            case NEED_TASK: {
                Runnable t;
                while ((t = e.getDelegatedTask()) != null) {
                    t.run();
                }
                return true;
            }
            default:
                return false;
        }
    }
}

package io.jmesh.proxy.tls;

import java.security.cert.CertificateException;
import java.util.Locale;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.channel.ChannelHandler;

/**
 * Envoy's TLS statistics of one listener ({@code listener.<address>.ssl.*}) or one cluster
 * ({@code cluster.<name>.ssl.*}), counted by the handler {@link #newDownstreamHandler()} or
 * {@link #newUpstreamHandler()} returns, which goes right after the {@code SslHandler}:
 * <ul>
 *   <li>{@code connection_error}: handshakes that failed (not TLS at all, no common cipher or version, a
 *       certificate the peer or we refused, a timeout);</li>
 *   <li>{@code handshake}: handshakes that succeeded;</li>
 *   <li>{@code no_certificate}: successful downstream handshakes in which the client sent no certificate;</li>
 *   <li>{@code fail_verify_no_cert}, {@code fail_verify_error}, {@code fail_verify_san}: handshakes that failed
 *       because the peer sent no certificate though one is required, because its chain did not verify, or
 *       because its subject alt names matched none of {@code match_typed_subject_alt_names};</li>
 *   <li>{@code versions.<version>} and {@code ciphers.<suite>} of successful handshakes, named as the JDK names
 *       them ({@code versions.TLSv1.3}, {@code ciphers.TLS_AES_128_GCM_SHA256}; Envoy uses OpenSSL's cipher
 *       names).</li>
 * </ul>
 * A failed downstream handshake is logged at debug only and closes the connection: a peer that sends anything
 * can cause one, so it must not cost a warning with a stack trace each (Envoy counts them and logs at debug too).
 * Thread-safe.
 *
 * @see <a href="https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/stats#tls-statistics">Envoy TLS
 *      statistics</a>
 */
public final class TlsStats {

    private final Stats stats;
    private final String prefix;

    /**
     * @param prefix the stat prefix up to and including {@code ssl.}, e.g. {@code listener.127.0.0.1_443.ssl.};
     *               counters appear on first use, so a plaintext listener or cluster shows none
     */
    public TlsStats(Stats stats, String prefix) {
        this.stats = stats;
        this.prefix = prefix;
    }

    private Counter counter(String name) {
        return stats.counter(prefix + name);
    }

    /** The stats of a listener bound on {@code address} ({@code ip_port}, as in {@code listener.<address>.}). */
    public static TlsStats forListener(Stats stats, String address) {
        return new TlsStats(stats, "listener." + address + ".ssl.");
    }

    /** The stats of a cluster; {@code clusterPrefix} is {@code cluster.<stat_name>.}. */
    public static TlsStats forCluster(Stats stats, String clusterPrefix) {
        return new TlsStats(stats, clusterPrefix + "ssl.");
    }

    /** A handler for one accepted connection: counts, and ends a failed handshake quietly. */
    public ChannelHandler newDownstreamHandler() {
        return new TlsHandshakeHandler(this, true);
    }

    /** A handler for one upstream connection: counts only; the connection pool sees failures as before. */
    public ChannelHandler newUpstreamHandler() {
        return new TlsHandshakeHandler(this, false);
    }

    /** Counts a handshake; {@code downstream} is the accepted connection's recorded info, null upstream. */
    void succeeded(SSLSession session, ConnectionInfo downstream) {
        counter("handshake").inc();
        if (session == null) {
            return;
        }
        counter("versions." + session.getProtocol()).inc();
        counter("ciphers." + session.getCipherSuite()).inc();
        if (downstream != null && downstream.peerCertificates().isEmpty()) {
            counter("no_certificate").inc();
        }
    }

    void failed(Throwable cause) {
        counter("connection_error").inc();
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SubjectAltNameMismatchException) {
                counter("fail_verify_san").inc();
                return;
            }
            if (t instanceof CertificateException) {
                counter("fail_verify_error").inc();
                return;
            }
            String m = t instanceof SSLException ? t.getMessage() : null;
            if (m != null && m.toLowerCase(Locale.ROOT).contains("empty") && m.contains("certificate chain")) {
                // The JDK's words when the peer sent no certificate though we need one ("Empty client
                // certificate chain"); its own trust manager is not called then.
                counter("fail_verify_no_cert").inc();
                return;
            }
        }
    }
}

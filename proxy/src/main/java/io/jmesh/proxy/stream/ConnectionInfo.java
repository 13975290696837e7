package io.jmesh.proxy.stream;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * What is known about one connection, downstream or upstream (Envoy's {@code ConnectionInfoProvider} and
 * {@code Ssl::ConnectionInfo}): addresses, the original destination, SNI, ALPN, and after a TLS handshake the
 * TLS version, cipher, session id and the peer's certificate chain with its URI SANs (the SPIFFE ID).
 *
 * <p>One instance per channel, found with {@link #of(Channel)}. Written by the listener (listener filters,
 * TLS handshake) on the channel's event loop before any network filter runs; read by filters, stats and the
 * access log afterwards, on the same loop. Not thread-safe. Absent values are null.
 */
public final class ConnectionInfo {

    private static final AttributeKey<ConnectionInfo> KEY = AttributeKey.valueOf(ConnectionInfo.class, "info");
    private static final AtomicLong IDS = new AtomicLong();
    private static final int SAN_URI = 6;
    private static final int SAN_DNS = 2;

    private final long id;
    private InetSocketAddress localAddress;
    private InetSocketAddress remoteAddress;
    private InetSocketAddress originalDestination;
    private InetSocketAddress upstreamSource;
    private int upstreamMark;
    private String terminationDetails;
    private String requestedServerName;
    private String applicationProtocol;
    private List<String> requestedApplicationProtocols = List.of();
    private String transportProtocol = "raw_buffer";
    private String tlsVersion;
    private String cipherSuite;
    private String sessionId;
    private List<X509Certificate> peerCertificates = List.of();
    private List<String> peerUriSans = List.of();
    private String peerCertificateSha256;
    private List<String> peerDnsSans = List.of();
    private List<String> localUriSans = List.of();

    private ConnectionInfo(long id) {
        this.id = id;
    }

    /** A connection info not bound to a channel (tests, or a connection not yet made). */
    public static ConnectionInfo create(InetSocketAddress local, InetSocketAddress remote) {
        final ConnectionInfo info = new ConnectionInfo(IDS.incrementAndGet());
        info.localAddress = local;
        info.remoteAddress = remote;
        return info;
    }

    /** The connection info of {@code channel}, created from its addresses on first use. */
    public static ConnectionInfo of(Channel channel) {
        final ConnectionInfo existing = channel.attr(KEY).get();
        if (existing != null) {
            return existing;
        }
        final ConnectionInfo info = create(inet(channel.localAddress()), inet(channel.remoteAddress()));
        final ConnectionInfo raced = channel.attr(KEY).setIfAbsent(info);
        return raced != null ? raced : info;
    }

    private static InetSocketAddress inet(SocketAddress address) {
        return address instanceof InetSocketAddress ? (InetSocketAddress) address : null;
    }

    /**
     * Why the proxy closed this connection, as Envoy's {@code StreamInfo::connectionTerminationDetails()}
     * ({@code %CONNECTION_TERMINATION_DETAILS%}): e.g. {@code rbac_access_denied_matched_policy[<policy>]} when the
     * network RBAC filter denied it; null when the proxy gave no reason. Set on the connection's event loop.
     */
    public String terminationDetails() {
        return terminationDetails;
    }

    /** Sets {@link #terminationDetails()}. */
    public ConnectionInfo terminationDetails(String details) {
        this.terminationDetails = details;
        return this;
    }

    /** A process-wide unique connection id ({@code %CONNECTION_ID%}). */
    public long id() {
        return id;
    }

    public InetSocketAddress localAddress() {
        return localAddress;
    }

    public InetSocketAddress remoteAddress() {
        return remoteAddress;
    }

    /** Sets the remote address (the PROXY protocol or {@code x-forwarded-for} trust may change it). */
    public ConnectionInfo remoteAddress(InetSocketAddress remoteAddress) {
        this.remoteAddress = remoteAddress;
        return this;
    }

    /**
     * The address the client dialled before redirection ({@code SO_ORIGINAL_DST}, the PROXY protocol), or
     * null when the connection was not redirected.
     */
    public InetSocketAddress originalDestination() {
        return originalDestination;
    }

    public ConnectionInfo originalDestination(InetSocketAddress originalDestination) {
        this.originalDestination = originalDestination;
        return this;
    }

    /**
     * The address this connection's own upstream connection binds ({@code original_src}: the client's address,
     * transparently), or null for the cluster's choice.
     */
    public InetSocketAddress upstreamSource() {
        return upstreamSource;
    }

    /** The {@code SO_MARK} of that upstream connection; 0 for none. */
    public int upstreamMark() {
        return upstreamMark;
    }

    /** Sets {@link #upstreamSource()} and {@link #upstreamMark()} ({@code original_src}). */
    public ConnectionInfo upstreamSource(InetSocketAddress source, int mark) {
        this.upstreamSource = source;
        this.upstreamMark = mark;
        return this;
    }

    /** The local address the client meant: the original destination when known, else the local address. */
    public InetSocketAddress destinationAddress() {
        return originalDestination != null ? originalDestination : localAddress;
    }

    /** The SNI the client sent (downstream) or the proxy sent (upstream), or null. */
    public String requestedServerName() {
        return requestedServerName;
    }

    public ConnectionInfo requestedServerName(String requestedServerName) {
        this.requestedServerName = requestedServerName;
        return this;
    }

    /** The negotiated ALPN protocol (or the one a listener filter detected), or null. */
    public String applicationProtocol() {
        return applicationProtocol;
    }

    public ConnectionInfo applicationProtocol(String applicationProtocol) {
        this.applicationProtocol = applicationProtocol;
        return this;
    }

    /**
     * The application protocols the client offered (TLS ALPN from the ClientHello) or a listener filter detected
     * ({@code http/1.1}, {@code h2c}, {@code bolt}, {@code dubbo}), as Envoy's {@code application_protocols}
     * filter chain match reads them; empty when unknown.
     */
    public List<String> requestedApplicationProtocols() {
        return requestedApplicationProtocols;
    }

    public ConnectionInfo requestedApplicationProtocols(List<String> protocols) {
        this.requestedApplicationProtocols = List.copyOf(protocols);
        return this;
    }

    /** {@code tls} or {@code raw_buffer}, as Envoy's {@code transport_protocol} filter chain match. */
    public String transportProtocol() {
        return transportProtocol;
    }

    public ConnectionInfo transportProtocol(String transportProtocol) {
        this.transportProtocol = transportProtocol;
        return this;
    }

    /** Whether a TLS handshake completed on this connection. */
    public boolean secure() {
        return tlsVersion != null;
    }

    /** e.g. {@code TLSv1.3}, or null without TLS ({@code %DOWNSTREAM_TLS_VERSION%}). */
    public String tlsVersion() {
        return tlsVersion;
    }

    /** e.g. {@code TLS_AES_128_GCM_SHA256}, or null without TLS ({@code %DOWNSTREAM_TLS_CIPHER%}). */
    public String cipherSuite() {
        return cipherSuite;
    }

    /** The TLS session id in lower-case hex, or null ({@code %DOWNSTREAM_TLS_SESSION_ID%}). */
    public String sessionId() {
        return sessionId;
    }

    /** The peer's certificate chain, leaf first; empty when the peer sent none or there is no TLS. */
    public List<X509Certificate> peerCertificates() {
        return peerCertificates;
    }

    /** Whether the peer presented a certificate that was validated. */
    public boolean peerCertificatePresented() {
        return !peerCertificates.isEmpty();
    }

    /**
     * The SHA-256 of the peer's leaf certificate (DER), hex, as Envoy's {@code sha256PeerCertificateDigest()}; empty
     * without one. Computed on first use and kept for the connection (read on its event loop).
     */
    public String peerCertificateSha256() {
        String d = peerCertificateSha256;
        if (d == null) {
            d = "";
            if (!peerCertificates.isEmpty()) {
                try {
                    d = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                            .digest(peerCertificates.get(0).getEncoded()));
                } catch (java.security.GeneralSecurityException e) {
                    d = "";
                }
            }
            peerCertificateSha256 = d;
        }
        return d;
    }

    /** The URI SANs of the peer's leaf certificate, e.g. a SPIFFE ID ({@code %DOWNSTREAM_PEER_URI_SAN%}). */
    public List<String> peerUriSans() {
        return peerUriSans;
    }

    /** The DNS SANs of the peer's leaf certificate. */
    public List<String> peerDnsSans() {
        return peerDnsSans;
    }

    /** The URI SANs of the certificate this side presented ({@code %DOWNSTREAM_LOCAL_URI_SAN%}). */
    public List<String> localUriSans() {
        return localUriSans;
    }

    /**
     * The SPIFFE principal of the peer as Istio's policies name it ({@code cluster.local/ns/default/sa/x}: the
     * first {@code spiffe://} URI SAN without its scheme), or null without one.
     */
    public String peerPrincipal() {
        for (String uri : peerUriSans) {
            if (uri.startsWith("spiffe://")) {
                return uri.substring("spiffe://".length());
            }
        }
        return null;
    }

    /**
     * Records a completed TLS handshake: version, cipher, session id, both certificate chains and their SANs.
     * {@code alpn} is the negotiated protocol, or null.
     */
    public ConnectionInfo onHandshake(SSLSession session, String alpn) {
        this.transportProtocol = "tls";
        this.tlsVersion = session.getProtocol();
        this.cipherSuite = session.getCipherSuite();
        final byte[] sid = session.getId();
        this.sessionId = sid == null || sid.length == 0 ? null : hex(sid);
        if (alpn != null && !alpn.isEmpty()) {
            this.applicationProtocol = alpn;
        }
        List<X509Certificate> peers = List.of();
        try {
            peers = x509(session.getPeerCertificates());
        } catch (SSLPeerUnverifiedException e) {
            // no client certificate
        }
        this.peerCertificates = peers;
        this.peerCertificateSha256 = null;
        this.peerUriSans = peers.isEmpty() ? List.of() : sans(peers.get(0), SAN_URI);
        this.peerDnsSans = peers.isEmpty() ? List.of() : sans(peers.get(0), SAN_DNS);
        final List<X509Certificate> locals = x509(session.getLocalCertificates());
        this.localUriSans = locals.isEmpty() ? List.of() : sans(locals.get(0), SAN_URI);
        return this;
    }

    private static List<X509Certificate> x509(Certificate[] certs) {
        if (certs == null || certs.length == 0) {
            return List.of();
        }
        final List<X509Certificate> out = new ArrayList<>(certs.length);
        for (Certificate c : certs) {
            if (c instanceof X509Certificate) {
                out.add((X509Certificate) c);
            }
        }
        return List.copyOf(out);
    }

    /** The SANs of {@code cert} of the given GeneralName type (2 DNS, 6 URI), in certificate order. */
    public static List<String> sans(X509Certificate cert, int type) {
        final Collection<List<?>> all;
        try {
            all = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return List.of();
        }
        if (all == null) {
            return List.of();
        }
        final List<String> out = new ArrayList<>(2);
        for (List<?> san : all) {
            if (san.size() >= 2 && san.get(0) instanceof Integer && (Integer) san.get(0) == type
                    && san.get(1) instanceof String) {
                out.add((String) san.get(1));
            }
        }
        return List.copyOf(out);
    }

    private static String hex(byte[] bytes) {
        final char[] digits = "0123456789abcdef".toCharArray();
        final char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = digits[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        return new String(out);
    }

    @Override
    public String toString() {
        return "ConnectionInfo{id=" + id + ", remote=" + remoteAddress + ", local=" + localAddress
                + (originalDestination != null ? ", originalDst=" + originalDestination : "")
                + (tlsVersion != null ? ", " + tlsVersion : "") + '}';
    }
}

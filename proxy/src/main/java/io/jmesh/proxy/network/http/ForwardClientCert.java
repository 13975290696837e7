package io.jmesh.proxy.network.http;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.ForwardClientCertDetails;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.SetCurrentClientCertDetails;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * The HCM's {@code forward_client_cert_details} and {@code set_current_client_cert_details}: what becomes of the
 * {@code x-forwarded-client-cert} (XFCC) request header, as Envoy does it
 * (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert).
 *
 * <ul>
 *   <li>{@code SANITIZE} (the default): the header is removed.</li>
 *   <li>{@code FORWARD_ONLY}: kept when the downstream connection is mutual TLS, else removed.</li>
 *   <li>{@code APPEND_FORWARD}: on mutual TLS, this hop's element is appended (comma-separated); else removed.</li>
 *   <li>{@code SANITIZE_SET}: on mutual TLS, replaced by this hop's element; else removed.</li>
 *   <li>{@code ALWAYS_FORWARD_ONLY}: kept as it came, whatever the connection.</li>
 * </ul>
 *
 * This hop's element is {@code By=<the local certificate's URI SAN>;Hash=<SHA-256 of the peer certificate, hex>}
 * followed, as {@code set_current_client_cert_details} asks, by {@code Cert="<URL-encoded PEM>"},
 * {@code Chain="..."}, {@code Subject="<subject DN>"}, {@code URI=<peer URI SAN>} and {@code DNS=<each DNS SAN>},
 * in Envoy's order. Immutable; applied on the event loop of the stream.
 */
final class ForwardClientCert {

    static final AsciiString XFCC = AsciiString.cached("x-forwarded-client-cert");

    static final ForwardClientCert SANITIZE = new ForwardClientCert(ForwardClientCertDetails.SANITIZE,
            SetCurrentClientCertDetails.getDefaultInstance());

    private final ForwardClientCertDetails mode;
    private final SetCurrentClientCertDetails details;

    private ForwardClientCert(ForwardClientCertDetails mode, SetCurrentClientCertDetails details) {
        this.mode = mode;
        this.details = details;
    }

    static ForwardClientCert of(HttpConnectionManager hcm) {
        if (hcm.getForwardClientCertDetails() == ForwardClientCertDetails.SANITIZE
                && !hcm.hasSetCurrentClientCertDetails()) {
            return SANITIZE;
        }
        return new ForwardClientCert(hcm.getForwardClientCertDetails(), hcm.getSetCurrentClientCertDetails());
    }

    /** Rewrites {@code headers}' XFCC for a request that came on {@code connection}. */
    void apply(HttpHeaders headers, ConnectionInfo connection) {
        boolean mtls = connection != null && connection.secure() && connection.peerCertificatePresented();
        switch (mode) {
            case ALWAYS_FORWARD_ONLY -> {
                // as it came
            }
            case FORWARD_ONLY -> {
                if (!mtls) {
                    headers.remove(XFCC);
                }
            }
            case APPEND_FORWARD -> {
                if (!mtls) {
                    headers.remove(XFCC);
                } else {
                    String previous = headers.get(XFCC);
                    String current = element(connection);
                    headers.set(XFCC, previous == null || previous.isEmpty() ? current : previous + "," + current);
                }
            }
            case SANITIZE_SET -> {
                if (!mtls) {
                    headers.remove(XFCC);
                } else {
                    headers.set(XFCC, element(connection));
                }
            }
            default -> headers.remove(XFCC);
        }
    }

    private String element(ConnectionInfo c) {
        StringBuilder sb = new StringBuilder();
        List<String> localUris = c.localUriSans();
        if (!localUris.isEmpty()) {
            sb.append("By=").append(localUris.get(0));
        }
        List<X509Certificate> chain = c.peerCertificates();
        X509Certificate peer = chain.get(0);
        append(sb, "Hash=" + c.peerCertificateSha256());
        if (details.getCert()) {
            append(sb, "Cert=\"" + urlEncodedPem(List.of(peer)) + "\"");
        }
        if (details.getChain()) {
            append(sb, "Chain=\"" + urlEncodedPem(chain) + "\"");
        }
        if (details.getSubject().getValue()) {
            append(sb, "Subject=\"" + peer.getSubjectX500Principal().getName().replace("\"", "\\\"") + "\"");
        }
        if (details.getUri()) {
            List<String> uris = c.peerUriSans();
            append(sb, "URI=" + (uris.isEmpty() ? "" : uris.get(0)));
        }
        if (details.getDns()) {
            for (String dns : c.peerDnsSans()) {
                append(sb, "DNS=" + dns);
            }
        }
        return sb.toString();
    }

    private static void append(StringBuilder sb, String kv) {
        if (sb.length() > 0) {
            sb.append(';');
        }
        sb.append(kv);
    }

    private static String urlEncodedPem(List<X509Certificate> certs) {
        StringBuilder pem = new StringBuilder();
        Base64.Encoder b64 = Base64.getMimeEncoder(64, new byte[] {'\n'});
        for (X509Certificate cert : certs) {
            try {
                pem.append("-----BEGIN CERTIFICATE-----\n").append(b64.encodeToString(cert.getEncoded()))
                        .append("\n-----END CERTIFICATE-----\n");
            } catch (CertificateEncodingException e) {
                // a certificate that cannot be encoded is left out
            }
        }
        return URLEncoder.encode(pem.toString(), StandardCharsets.UTF_8).replace("+", "%20");
    }
}

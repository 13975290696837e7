package io.jmesh.proxy.filter.extauthz;

import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.jmesh.proxy.router.StringMatch;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;

/** Builds the {@code CheckRequest} of a request or a connection as Envoy fills it ({@code check_request_utils.cc}). */
final class CheckRequests {

    private CheckRequests() {}

    /**
     * The attributes of a connection: source (address, principal from the peer certificate's URI SAN or subject,
     * and, with {@code includePeerCertificate}, the URL-encoded PEM certificate), destination (address, local URI
     * SAN), and the TLS SNI with {@code includeTlsSession}.
     */
    static AttributeContext.Builder connection(ConnectionInfo c, boolean includePeerCertificate,
                                               boolean includeTlsSession) {
        AttributeContext.Builder a = AttributeContext.newBuilder();
        AttributeContext.Peer.Builder source = AttributeContext.Peer.newBuilder();
        if (c.remoteAddress() != null) {
            source.setAddress(address(c.remoteAddress()));
        }
        if (c.secure()) {
            List<X509Certificate> chain = c.peerCertificates();
            if (!c.peerUriSans().isEmpty()) {
                source.setPrincipal(c.peerUriSans().get(0));
            } else if (!chain.isEmpty()) {
                source.setPrincipal(chain.get(0).getSubjectX500Principal().getName());
            }
            if (includePeerCertificate && !chain.isEmpty()) {
                source.setCertificate(URLEncoder.encode(pem(chain.get(0)), StandardCharsets.UTF_8));
            }
        }
        a.setSource(source);
        AttributeContext.Peer.Builder destination = AttributeContext.Peer.newBuilder();
        if (c.destinationAddress() != null) {
            destination.setAddress(address(c.destinationAddress()));
        }
        if (!c.localUriSans().isEmpty()) {
            destination.setPrincipal(c.localUriSans().get(0));
        }
        a.setDestination(destination);
        if (includeTlsSession && c.requestedServerName() != null) {
            a.setTlsSession(AttributeContext.TLSSession.newBuilder().setSni(c.requestedServerName()));
        }
        return a;
    }

    /**
     * The check of an HTTP request: the connection's attributes and {@code request.http} (id, method, path, host,
     * scheme, protocol, headers joined with {@code ','}, filtered by {@code allowedHeaders} when not empty, and the
     * body); {@code contextExtensions} from the route.
     */
    static CheckRequest http(RequestAttributes r, String protocol, ConnectionInfo c, List<StringMatch> allowedHeaders,
                             byte[] body, long bodySize, boolean packAsBytes, boolean includePeerCertificate,
                             boolean includeTlsSession, Map<String, String> contextExtensions) {
        AttributeContext.Builder a = connection(c, includePeerCertificate, includeTlsSession);
        AttributeContext.HttpRequest.Builder h = AttributeContext.HttpRequest.newBuilder();
        String id = r.header("x-request-id");
        if (id != null) {
            h.setId(id);
        }
        h.setMethod(r.method()).setPath(r.path()).setProtocol(protocol);
        if (r.host() != null) {
            h.setHost(r.host());
        }
        String scheme = r.header(":scheme");
        if (scheme != null) {
            h.setScheme(scheme);
        }
        r.forEachHeader((name, value) -> {
            if (allowedHeaders.isEmpty() || name.startsWith(":") || matches(allowedHeaders, name)) {
                h.putHeaders(name, h.getHeadersMap().containsKey(name) ? h.getHeadersMap().get(name) + "," + value
                        : value);
            }
        });
        String length = r.header("content-length");
        h.setSize(body != null ? bodySize : length != null ? parse(length) : -1);
        if (body != null && body.length > 0) {
            if (packAsBytes) {
                h.setRawBody(ByteString.copyFrom(body));
            } else {
                h.setBody(new String(body, StandardCharsets.UTF_8));
            }
        }
        long now = System.currentTimeMillis();
        a.setRequest(AttributeContext.Request.newBuilder().setHttp(h)
                .setTime(Timestamp.newBuilder().setSeconds(now / 1000).setNanos((int) (now % 1000) * 1_000_000)));
        a.putAllContextExtensions(contextExtensions);
        return CheckRequest.newBuilder().setAttributes(a).build();
    }

    static boolean matches(List<StringMatch> list, String name) {
        for (StringMatch m : list) {
            if (m.matches(name)) {
                return true;
            }
        }
        return false;
    }

    private static long parse(String v) {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Address address(InetSocketAddress a) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                .setAddress(a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString())
                .setPortValue(a.getPort())).build();
    }

    private static String pem(X509Certificate cert) {
        try {
            return "-----BEGIN CERTIFICATE-----\n"
                   + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded())
                   + "\n-----END CERTIFICATE-----\n";
        } catch (CertificateEncodingException e) {
            return "";
        }
    }
}

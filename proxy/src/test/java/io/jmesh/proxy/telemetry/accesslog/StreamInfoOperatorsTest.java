package io.jmesh.proxy.telemetry.accesslog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.Certificate;

import javax.net.ssl.SSLSession;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * The access log operators that read {@link StreamInfo} and {@link ConnectionInfo}: dynamic metadata, filter
 * state, upstream metadata, connection id, the downstream TLS facts, SNI and the upstream local address, printed
 * as Envoy prints them.
 */
class StreamInfoOperatorsTest {

    private static String format(String f, StreamInfo e) throws ConfigException {
        return AccessLogFormatter.parse(f).format(e);
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    @Test
    void dynamicMetadataByNamespaceAndNestedKeys() throws ConfigException {
        StreamInfo e = new StreamInfo();
        e.setDynamicMetadata("envoy.filters.http.jwt_authn", Struct.newBuilder()
                .putFields("sub", str("alice"))
                .putFields("n", Value.newBuilder().setNumberValue(3).build())
                .putFields("claims", Value.newBuilder().setStructValue(Struct.newBuilder()
                        .putFields("iss", str("https://issuer"))).build())
                .build());
        assertEquals("alice", format("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:sub)%", e));
        assertEquals("3", format("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:n)%", e));
        assertEquals("https://issuer", format("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:claims:iss)%", e));
        assertEquals("{\"iss\":\"https://issuer\"}", format("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:claims)%", e));
        assertEquals("-", format("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:missing)%", e));
        assertEquals("-", format("%DYNAMIC_METADATA(other)%", e));
        assertEquals("ali", format("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:sub):3%", e));
        assertThrows(ConfigException.class, () -> AccessLogFormatter.parse("%DYNAMIC_METADATA()%"));
    }

    @Test
    void filterStatePlainAndTyped() throws ConfigException {
        StreamInfo e = new StreamInfo();
        e.filterState().put("my.key", "v\"1");
        e.filterState().put("proto", Struct.newBuilder().putFields("a", str("b")).build());
        assertEquals("v\"1", format("%FILTER_STATE(my.key:PLAIN)%", e));
        assertEquals("\"v\\\"1\"", format("%FILTER_STATE(my.key)%", e));
        assertEquals("\"v\\\"1\"", format("%FILTER_STATE(my.key:TYPED)%", e));
        assertEquals("{\"a\":\"b\"}", format("%FILTER_STATE(proto)%", e));
        assertEquals("-", format("%FILTER_STATE(absent)%", e));
    }

    @Test
    void upstreamMetadataByNamespace() throws ConfigException {
        StreamInfo e = new StreamInfo().upstreamHostMetadata(Struct.newBuilder()
                .putFields("istio", Value.newBuilder().setStructValue(Struct.newBuilder()
                        .putFields("workload", str("reviews-v2"))).build()).build());
        assertEquals("reviews-v2", format("%UPSTREAM_METADATA(istio:workload)%", e));
        assertEquals("-", format("%UPSTREAM_METADATA(istio:absent)%", new StreamInfo()));
    }

    @Test
    void connectionFactsFromConnectionInfo(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued client = ca.issue("client", "spiffe://cluster.local/ns/default/sa/client");
        TestCertificates.Issued server = ca.issue("server", "spiffe://cluster.local/ns/default/sa/server");
        ConnectionInfo down = ConnectionInfo.create(new InetSocketAddress("127.0.0.1", 15006),
                new InetSocketAddress("127.0.0.2", 40000));
        down.requestedServerName("reviews.default.svc");
        // A handshake as the TLS handler would record it (a stand-in session; the values are a real handshake's).
        down.onHandshake(session("TLSv1.3", "TLS_AES_128_GCM_SHA256", new byte[] {0x0a, (byte) 0xbc},
                new Certificate[] {client.certificate()}, new Certificate[] {server.certificate()}), "h2");
        ConnectionInfo up = ConnectionInfo.create(new InetSocketAddress("127.0.0.1", 52000),
                new InetSocketAddress("127.0.0.1", 9080));
        StreamInfo e = new StreamInfo().downstreamConnection(down).upstreamConnection(up);

        assertEquals(Long.toString(down.id()), format("%CONNECTION_ID%", e));
        assertEquals("spiffe://cluster.local/ns/default/sa/client", format("%DOWNSTREAM_PEER_URI_SAN%", e));
        assertEquals("spiffe://cluster.local/ns/default/sa/server", format("%DOWNSTREAM_LOCAL_URI_SAN%", e));
        assertEquals("TLSv1.3", format("%DOWNSTREAM_TLS_VERSION%", e));
        assertEquals("TLS_AES_128_GCM_SHA256", format("%DOWNSTREAM_TLS_CIPHER%", e));
        assertEquals(down.sessionId(), format("%DOWNSTREAM_TLS_SESSION_ID%", e));
        assertEquals(client.certificate().getSubjectX500Principal().getName(), format("%DOWNSTREAM_PEER_SUBJECT%", e));
        assertEquals("reviews.default.svc", format("%REQUESTED_SERVER_NAME%", e));
        assertEquals("127.0.0.1:52000", format("%UPSTREAM_LOCAL_ADDRESS%", e));
        assertEquals("- - - -", format("%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_TLS_VERSION% %REQUESTED_SERVER_NAME%"
                + " %UPSTREAM_LOCAL_ADDRESS%", new StreamInfo()));
    }

    /** A stand-in {@link SSLSession} (a dynamic proxy) answering only what {@code ConnectionInfo} reads. */
    private static SSLSession session(String protocol, String cipher, byte[] id, Certificate[] peer, Certificate[] local) {
        return (SSLSession) Proxy.newProxyInstance(SSLSession.class.getClassLoader(), new Class<?>[] {SSLSession.class},
                (p, m, args) -> switch (m.getName()) {
                    case "getProtocol" -> protocol;
                    case "getCipherSuite" -> cipher;
                    case "getId" -> id;
                    case "getPeerCertificates" -> peer;
                    case "getLocalCertificates" -> local;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }
}

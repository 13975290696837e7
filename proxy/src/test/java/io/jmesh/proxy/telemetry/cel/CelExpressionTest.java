package io.jmesh.proxy.telemetry.cel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class CelExpressionTest {

    private static StreamInfo request(int code) {
        DefaultHttpHeaders headers = new DefaultHttpHeaders(false);
        headers.add("x-user", "alice");
        headers.add(":scheme", "https");
        DefaultHttpHeaders response = new DefaultHttpHeaders();
        response.add("content-type", "text/plain");
        return new StreamInfo().method("GET").path("/api/v1beta3/items?page=2").authority("shop.example.com")
                .requestHeaders(headers).responseHeaders(response).responseCode(code).durationMs(1500)
                .bytesReceived(10).bytesSent(20).upstreamCluster("outbound|80||shop.default.svc.cluster.local")
                .downstreamRemoteAddress(new InetSocketAddress("127.0.0.1", 40000))
                .downstreamLocalAddress(new InetSocketAddress("127.0.0.1", 8080))
                .downstreamConnection(ConnectionInfo.create(new InetSocketAddress("127.0.0.1", 8080),
                        new InetSocketAddress("127.0.0.1", 40000)));
    }

    private static boolean eval(String expression, StreamInfo info) throws ConfigException {
        return CelExpression.parse(expression).matches(info);
    }

    @Test
    void responseCodeComparisons() throws ConfigException {
        assertTrue(eval("response.code >= 400", request(503)));
        assertFalse(eval("response.code >= 400", request(200)));
        assertTrue(eval("response.code == 200 || response.code == 204", request(204)));
        assertTrue(eval("response.code in [500, 503]", request(503)));
        assertFalse(eval("!(response.code < 500)", request(404)));
        assertTrue(eval("response.code >= 400 ? request.method == 'GET' : false", request(404)));
    }

    @Test
    void headersAndStrings() throws ConfigException {
        StreamInfo r = request(200);
        assertTrue(eval("request.headers['x-user'] == 'alice'", r));
        assertTrue(eval("request.headers['X-User'] == \"alice\"", r));
        assertTrue(eval("'x-user' in request.headers && !('x-admin' in request.headers)", r));
        assertTrue(eval("request.url_path.contains('v1beta3') && request.path.endsWith('page=2')", r));
        assertTrue(eval("request.url_path == '/api/v1beta3/items'", r));
        assertTrue(eval("request.host.startsWith('shop.') && request.scheme == 'https'", r));
        assertTrue(eval("request.url_path.matches('^/api/v[0-9]')", r));
        assertTrue(eval("response.headers['content-type'] == 'text/plain'", r));
        assertTrue(eval("xds.cluster_name.endsWith('svc.cluster.local') && source.port == 40000", r));
        assertTrue(eval("destination.address == '127.0.0.1:8080' && size(request.method) == 3", r));
    }

    @Test
    void missingHeaderIsAnErrorSoFalseButOrCanStillBeTrue() throws ConfigException {
        StreamInfo r = request(500);
        assertFalse(eval("request.headers['x-missing'] == 'x'", r));
        assertFalse(eval("request.headers['x-missing'] != 'x'", r));
        assertTrue(eval("request.headers['x-missing'] == 'x' || response.code == 500", r));
        assertTrue(eval("response.code == 500 || request.headers['x-missing'] == 'x'", r));
        assertFalse(eval("response.code == 'x'", r));
    }

    @Test
    void mtlsDurationAndConversions() throws ConfigException {
        StreamInfo r = request(200);
        assertTrue(eval("!connection.mtls", r));
        assertTrue(eval("request.duration > duration('1s') && request.duration < duration('1m')", r));
        assertTrue(eval("int(request.headers['x-n']) > 5 || string(response.code) == '200'", r));
        assertEquals("1.5s", CelExpression.parse("request.duration").evaluateString(r));
        assertEquals("GET", CelExpression.parse("request.method").evaluateString(r));
        assertEquals("alice-200", CelExpression.parse("request.headers['x-user'] + '-' + string(response.code)")
                .evaluateString(r));
        assertNull(CelExpression.parse("request.headers['nope']").evaluateString(r));
    }

    @Test
    void refusesWhatTheSubsetCannotParseByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> CelExpression.parse("response.cod >= 400"));
        assertTrue(e.getMessage().startsWith("expression: response.cod >= 400 (expected: Istio's CEL subset; "
                + "unknown attribute 'response.cod'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> CelExpression.parse("has(request.headers.x)"));
        assertTrue(e.getMessage().contains("unsupported function 'has'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> CelExpression.parse("filter_state['a'] == 'b'"));
        assertTrue(e.getMessage().contains("unknown identifier 'filter_state'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> CelExpression.parse("response.code = 400"));
        assertTrue(e.getMessage().contains("'=' is not an operator"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> CelExpression.parse("request.path.lowerAscii() == 'a'"));
        assertTrue(e.getMessage().contains("unsupported method 'lowerAscii'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> CelExpression.parse("response.code >= 400 &&"));
        assertTrue(e.getMessage().contains("unexpected end"), e.getMessage());
        assertThrows(ConfigException.class, () -> CelExpression.parse(" "));
        assertThrows(ConfigException.class, () -> CelExpression.parse("request.path.matches('[')"));
    }
}

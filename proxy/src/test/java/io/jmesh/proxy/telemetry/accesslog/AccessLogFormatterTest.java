package io.jmesh.proxy.telemetry.accesslog;

import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.stream.ResponseFlag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class AccessLogFormatterTest {

    /** 2023-11-14T22:13:20.123Z */
    private static final long START = 1_700_000_000_123L;

    static StreamInfo fullEntry() {
        HttpHeaders request = new DefaultHttpHeaders()
                .add("x-custom", "abcdefgh")
                .add("x-forwarded-for", "10.0.0.9");
        HttpHeaders response = new DefaultHttpHeaders()
                .add("x-envoy-upstream-service-time", "12")
                .add("content-type", "text/plain");
        HttpHeaders trailers = new DefaultHttpHeaders().add("grpc-status", "0");
        return new StreamInfo()
                .startTimeMillis(START)
                .method("GET")
                .path("/rewritten")
                .originalPath("/original")
                .protocol("HTTP/1.1")
                .authority("example.com")
                .userAgent("curl/8.0")
                .forwardedFor("10.0.0.9")
                .requestId("req-1")
                .requestHeaders(request)
                .responseHeaders(response)
                .responseTrailers(trailers)
                .responseCode(200)
                .responseCodeDetails("via_upstream")
                .bytesReceived(5)
                .bytesSent(42)
                .durationMs(15)
                .responseDurationMs(13)
                .upstreamServiceTimeMs(12)
                .upstreamHost("10.1.2.3:8080")
                .upstreamCluster("backend")
                .routeName("default")
                .downstreamRemoteAddress(new InetSocketAddress("127.0.0.2", 51000))
                .downstreamLocalAddress(new InetSocketAddress("127.0.0.1", 15001));
    }

    @Test
    void defaultFormatMatchesEnvoy() throws ConfigException {
        assertEquals("[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
                + "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
                + "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
                + "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n",
                AccessLogFormatter.DEFAULT_FORMAT);
        String line = AccessLogFormatter.parse(AccessLogFormatter.DEFAULT_FORMAT).format(fullEntry());
        assertEquals("[2023-11-14T22:13:20.123Z] \"GET /original HTTP/1.1\" 200 - 5 42 15 12 \"10.0.0.9\" "
                + "\"curl/8.0\" \"req-1\" \"example.com\" \"10.1.2.3:8080\"\n", line);
    }

    @Test
    void defaultFormatWithMissingValues() throws ConfigException {
        StreamInfo entry = new StreamInfo().startTimeMillis(START).method("POST").path("/p")
                .protocol("HTTP/2").responseCode(503)
                .addResponseFlag(ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED)
                .addResponseFlag(ResponseFlag.NO_HEALTHY_UPSTREAM);
        String line = AccessLogFormatter.parse(AccessLogFormatter.DEFAULT_FORMAT).format(entry);
        assertEquals("[2023-11-14T22:13:20.123Z] \"POST /p HTTP/2\" 503 UH,URX 0 0 - - \"-\" \"-\" \"-\" \"-\" "
                + "\"-\"\n", line);
    }

    @Test
    void customFormatWithAllOperators() throws ConfigException {
        AccessLogFormatter f = AccessLogFormatter.parse(
                "%RESPONSE_CODE_DETAILS% %UPSTREAM_CLUSTER% %ROUTE_NAME% %DOWNSTREAM_REMOTE_ADDRESS% "
                + "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS% %RESPONSE_DURATION% "
                + "%RESP(content-type)% %TRAILER(grpc-status)% %REQ(:PATH)% %REQ(x-missing?x-custom)% "
                + "%UPSTREAM_TRANSPORT_FAILURE_REASON% %CONNECTION_TERMINATION_DETAILS% 100%%");
        assertEquals("via_upstream backend default 127.0.0.2:51000 127.0.0.2 127.0.0.1:15001 13 text/plain 0 "
                + "/rewritten abcdefgh - - 100%", f.format(fullEntry()));
    }

    @Test
    void truncatesToMaxLength() throws ConfigException {
        AccessLogFormatter f = AccessLogFormatter.parse("%REQ(X-CUSTOM):3%|%UPSTREAM_CLUSTER:4%|%REQ(X-NONE):2%");
        assertEquals("abc|back|-", f.format(fullEntry()));
    }

    @Test
    void ipv6AddressesAreBracketed() throws ConfigException {
        StreamInfo entry = new StreamInfo()
                .downstreamRemoteAddress(new InetSocketAddress("::1", 443));
        AccessLogFormatter f = AccessLogFormatter.parse(
                "%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%");
        assertEquals("[0:0:0:0:0:0:0:1]:443 0:0:0:0:0:0:0:1", f.format(entry));
    }

    @Test
    void startTimeFormats() throws ConfigException {
        StreamInfo entry = new StreamInfo().startTimeMillis(START);
        assertEquals("1700000000", AccessLogFormatter.parse("%START_TIME(%s)%").format(entry));
        assertEquals("2023-11-14T22:13:20.123Z",
                AccessLogFormatter.parse("%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%").format(entry));
        assertEquals("2023/11/14 22:13:20.123000",
                AccessLogFormatter.parse("%START_TIME(%Y/%m/%d %H:%M:%E6S)%").format(entry));
        assertEquals("123000000", AccessLogFormatter.parse("%START_TIME(%f)%").format(entry));
    }

    @Test
    void oneFormatterGivesEachStreamItsOwnStartTime() throws ConfigException {
        // The formatter keeps the last millisecond it formatted: a stream of another millisecond must not get it.
        AccessLogFormatter f = AccessLogFormatter.parse("%START_TIME%");
        assertEquals("2023-11-14T22:13:20.123Z", f.format(new StreamInfo().startTimeMillis(START)));
        assertEquals("2023-11-14T22:13:20.123Z", f.format(new StreamInfo().startTimeMillis(START)));
        assertEquals("2023-11-14T22:13:20.124Z", f.format(new StreamInfo().startTimeMillis(START + 1)));
        assertEquals("2023-11-14T22:13:21.007Z", f.format(new StreamInfo().startTimeMillis(START + 884)));
        assertEquals("2023-11-14T22:13:20.123Z", f.format(new StreamInfo().startTimeMillis(START)));
    }

    @Test
    void responseFlagsJoinedInEnvoyOrder() throws ConfigException {
        StreamInfo entry = new StreamInfo()
                .addResponseFlag(ResponseFlag.NO_ROUTE_FOUND)
                .addResponseFlag(ResponseFlag.UPSTREAM_CONNECTION_FAILURE)
                .addResponseFlag(ResponseFlag.FAILED_LOCAL_HEALTH_CHECK);
        assertEquals("LH,UF,NR", AccessLogFormatter.parse("%RESPONSE_FLAGS%").format(entry));
        assertEquals("UAEX", ResponseFlag.UNAUTHORIZED_EXTERNAL_SERVICE.code());
    }

    @Test
    void rejectsUnknownOperatorsAndBadArguments() {
        ConfigException unknown = assertThrows(ConfigException.class,
                () -> AccessLogFormatter.parse("a %NOT_A_COMMAND% b"));
        assertEquals("format: %NOT_A_COMMAND% (expected: a known command operator)", unknown.getMessage());
        assertThrows(ConfigException.class, () -> AccessLogFormatter.parse("%REQ%"));
        assertThrows(ConfigException.class, () -> AccessLogFormatter.parse("%REQ(A?B?C)%"));
        assertThrows(ConfigException.class, () -> AccessLogFormatter.parse("%DURATION(x)%"));
        ConfigException unterminated = assertThrows(ConfigException.class,
                () -> AccessLogFormatter.parse("%DURATION"));
        assertTrue(unterminated.getMessage().startsWith("format: %DURATION"), unterminated.getMessage());
    }
}

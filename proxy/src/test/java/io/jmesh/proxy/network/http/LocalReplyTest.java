package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.LocalReplyConfig;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/** {@code local_reply_config} mappers and body formats, Envoy's HTTP → gRPC status mapping, config errors. */
class LocalReplyTest {

    private static LocalReply config(String yaml) throws ConfigException {
        return LocalReply.create(EnvoyTypes.PARSER.parse(yaml, LocalReplyConfig.newBuilder()).build(), "local_reply_config");
    }

    private static String body(LocalReply.Reply r) {
        String s = r.body == null ? null : r.body.toString(StandardCharsets.UTF_8);
        if (r.body != null) {
            r.body.release();
        }
        return s;
    }

    private static HttpRequest get(String header, String value) {
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/x");
        if (header != null) {
            req.headers().set(header, value);
        }
        return req;
    }

    @Test
    void firstMatchingMapperRewritesThenBodyFormatApplies() throws Exception {
        LocalReply lr = config("""
                mappers:
                - filter: { header_filter: { header: { name: x-debug, present_match: true } } }
                  status_code: 418
                  body: { inline_string: "debug" }
                - filter: { response_flag_filter: { flags: [UH] } }
                  body_format_override: { json_format: { code: "%RESPONSE_CODE%", message: "%LOCAL_REPLY_BODY%" } }
                body_format: { text_format: "[%LOCAL_REPLY_BODY%]" }
                """);
        LocalReply.Reply debug = lr.build(get("x-debug", "1"), 503, "no healthy upstream", null, -1, new StreamInfo());
        assertEquals(418, debug.headers.status().code());
        assertEquals("[debug]", body(debug));

        StreamInfo uh = new StreamInfo().addResponseFlag(ResponseFlag.NO_HEALTHY_UPSTREAM);
        LocalReply.Reply json = lr.build(get(null, null), 503, "no healthy upstream", null, -1, uh);
        assertEquals(503, json.headers.status().code());
        assertEquals("application/json", json.headers.headers().get("content-type"));
        assertEquals("{\"code\":\"503\",\"message\":\"no healthy upstream\"}\n", body(json));

        LocalReply.Reply plain = lr.build(get(null, null), 404, "", null, -1, new StreamInfo());
        assertEquals("[]", body(plain));
        assertEquals("2", plain.headers.headers().get("content-length"));
    }

    @Test
    void grpcStatusMapsAsEnvoy() {
        int[][] cases = {{400, 13}, {401, 16}, {403, 7}, {404, 12}, {429, 14}, {502, 14}, {503, 14}, {504, 14}, {500, 2}};
        for (int[] c : cases) {
            assertEquals(c[1], LocalReply.httpToGrpcStatus(c[0]), "HTTP " + c[0]);
        }
        HttpRequest grpc = get("content-type", "application/grpc;charset=utf-8");
        LocalReply.Reply r = LocalReply.DEFAULT.build(grpc, 504, "upstream request timeout", null, -1, new StreamInfo());
        assertEquals(200, r.headers.status().code());
        assertEquals("14", r.headers.headers().get("grpc-status"));
        assertEquals("upstream request timeout", r.headers.headers().get("grpc-message"));
        assertNull(r.body);
        assertEquals("caf%C3%A9 100%25", LocalReply.percentEncode("café 100%"));
        assertEquals("http", new HttpRequestAttributes(get("content-type", "application/grpcx"), null, "http").protocol());
    }

    @Test
    void unsupportedFilterIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> config("""
                mappers:
                - filter: { duration_filter: { comparison: { op: GE, value: { default_value: 1, runtime_key: k } } } }
                  status_code: 500
                """));
        assertEquals("local_reply_config.mappers[0].filter: duration_filter (expected: status_code_filter, header_filter,"
                + " response_flag_filter, and_filter, or_filter or not_health_check_filter)", e.getMessage());
        ConfigException flag = assertThrows(ConfigException.class, () -> config("""
                mappers:
                - filter: { response_flag_filter: { flags: [XX] } }
                """));
        assertEquals("local_reply_config.mappers[0].filter.response_flag_filter.flags: XX (expected: an Envoy response"
                + " flag such as UH, UF, NR)", flag.getMessage());
    }
}

package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.HttpFilterRegistryTest;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamFilterBase;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.testing.FakeClock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The filter manager without sockets: filter chains on headers, data and trailers in both directions, pause
 * and resume (timers on a {@link FakeClock}), local replies (plain and gRPC), re-routing after
 * {@code clearRouteCache()}, the buffer limit (413 / 500 / flow control) and {@code onDestroy} once.
 */
class FilterManagerTest {

    private final FakeClock clock = new FakeClock();
    private final List<String> log = new ArrayList<>();
    private final Downstream downstream = new Downstream();
    private final StreamInfo info = new StreamInfo();
    private FilterManager fm;

    @AfterEach
    void tearDown() {
        if (fm != null) {
            fm.destroy();
        }
        downstream.release();
        clock.close();
    }

    // ------------------------------------------------------------------ tests

    @Test
    void headersDataAndTrailersPassBothWaysInOrder() {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        a.onHeaders = h -> {
            info.setDynamicMetadata("test.a", Struct.newBuilder()
                    .putFields("user", Value.newBuilder().setStringValue("alice").build()).build());
            return FilterHeadersStatus.CONTINUE;
        };
        String[] seenByB = new String[1];
        b.onHeaders = h -> {
            seenByB[0] = b.callbacks.streamInfo().dynamicMetadata().get("test.a").getFieldsOrThrow("user").getStringValue();
            return FilterHeadersStatus.CONTINUE;
        };
        Echo echo = new Echo();
        start(1024, a, b, echo);

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("hello "), false);
        fm.decodeData(bytes("world"), false);
        fm.decodeTrailers(trailers("x-checksum", "42"));

        assertEquals("alice", seenByB[0], "a later filter reads what an earlier one put in StreamInfo");
        assertEquals(List.of("a.decodeHeaders", "b.decodeHeaders", "a.decodeData 6", "b.decodeData 6",
                "a.decodeData 5", "b.decodeData 5", "a.decodeTrailers", "b.decodeTrailers",
                "b.encodeHeaders 200", "a.encodeHeaders 200", "b.encodeData 11", "a.encodeData 11",
                "b.encodeTrailers", "a.encodeTrailers"), log);
        assertEquals(List.of("headers 200", "data 11", "trailers", "complete"), downstream.events);
        assertEquals("hello world", downstream.body());
        assertEquals("42", downstream.trailers.get("x-checksum"));
    }

    @Test
    void stopAllHoldsTheRequestUntilTheFilterContinuesOnItsTimer() {
        Recording a = new Recording("a");
        a.onHeaders = h -> {
            a.callbacks.eventLoop().schedule(() -> a.callbacks.continueDecoding(), 100, TimeUnit.MILLISECONDS);
            return FilterHeadersStatus.STOP_ALL_ITERATION_AND_BUFFER;
        };
        Recording b = new Recording("b");
        Echo echo = new Echo();
        start(1024, a, b, echo);

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("abc"), false);
        fm.decodeData(bytes("def"), true);
        assertEquals(List.of("a.decodeHeaders"), log, "nothing passes a filter that stopped all iteration");

        clock.forwardTime(99, TimeUnit.MILLISECONDS);
        assertEquals(List.of("a.decodeHeaders"), log);
        clock.forwardTime(1, TimeUnit.MILLISECONDS);
        assertEquals(List.of("a.decodeHeaders", "b.decodeHeaders", "b.decodeData 6 end",
                "b.encodeHeaders 200", "a.encodeHeaders 200", "b.encodeData 6 end", "a.encodeData 6 end"), log,
                "the held body goes on as one piece after the headers");
        assertEquals("abcdef", downstream.body());
    }

    @Test
    void aFilterThatStoppedHeadersSeesTheBodyAndBuffersItUntilTheEnd() {
        Recording a = new Recording("a");
        a.onHeaders = h -> FilterHeadersStatus.STOP_ITERATION;
        a.onData = (data, end) -> {
            if (!end) {
                return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
            }
            // The filter reads the whole body (buffer + last piece) and rewrites the last piece.
            String whole = a.callbacks.decodingBuffer().toString(StandardCharsets.UTF_8) + data.toString(StandardCharsets.UTF_8);
            data.clear().writeBytes(("|" + whole.length()).getBytes(StandardCharsets.US_ASCII));
            return FilterDataStatus.CONTINUE;
        };
        Recording b = new Recording("b");
        Echo echo = new Echo();
        start(1024, a, b, echo);

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("12345"), false);
        fm.decodeData(bytes("678"), false);
        assertEquals(List.of("a.decodeHeaders", "a.decodeData 5", "a.decodeData 3"), log);
        fm.decodeData(Unpooled.buffer().writeBytes("90".getBytes(StandardCharsets.US_ASCII)), true);

        assertEquals(List.of("a.decodeHeaders", "a.decodeData 5", "a.decodeData 3", "a.decodeData 2 end",
                "b.decodeHeaders", "b.decodeData 11 end",
                "b.encodeHeaders 200", "a.encodeHeaders 200", "b.encodeData 11 end", "a.encodeData 11 end"), log);
        assertEquals("12345678|10", downstream.body());
    }

    @Test
    void requestBodyPastTheBufferLimitIs413() {
        Recording a = new Recording("a");
        a.onData = (data, end) -> FilterDataStatus.STOP_ITERATION_AND_BUFFER;
        Recording b = new Recording("b");
        start(16, a, b, new Echo());

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("0123456789"), false);
        assertTrue(downstream.events.isEmpty());
        fm.decodeData(bytes("0123456789"), false);

        assertEquals(List.of("headers 413", "data 17", "complete"), downstream.events);
        assertEquals("Payload Too Large", downstream.body());
        assertEquals("request_payload_too_large", info.responseCodeDetails());
        fm.decodeData(bytes("more"), true); // after the reply: dropped, not leaked
        assertFalse(log.stream().anyMatch(l -> l.startsWith("b.decodeData")), "held data never went past a");
    }

    @Test
    void responseBodyPastTheBufferLimitIs500() {
        Recording a = new Recording("a");
        a.onEncodeHeaders = h -> FilterHeadersStatus.STOP_ITERATION;
        a.onEncodeData = (data, end) -> FilterDataStatus.STOP_ITERATION_AND_BUFFER;
        Echo echo = new Echo();
        start(16, a, echo);

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("0123456789"), false);
        fm.decodeData(bytes("0123456789"), true);

        assertEquals(List.of("headers 500", "data 21", "complete"), downstream.events);
        assertEquals("Internal Server Error", downstream.body());
        assertEquals("response_payload_too_large", info.responseCodeDetails());
    }

    @Test
    void watermarkStatusPausesTheDownstreamInsteadOfFailing() {
        Recording a = new Recording("a");
        a.onHeaders = h -> FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK;
        start(16, a, new Recording("b"), new Echo());

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("0123456789"), false);
        assertEquals(List.of(), downstream.readable);
        fm.decodeData(bytes("0123456789"), false);
        assertEquals(List.of(false), downstream.readable, "past the limit the downstream stops being read");
        a.callbacks.continueDecoding();
        assertEquals(List.of(false, true), downstream.readable);
        fm.decodeData(bytes("!"), true);
        assertEquals("01234567890123456789!", downstream.body());
    }

    @Test
    void localReplyPassesTheEncoderFiltersAndSkipsLaterDecoders() {
        Recording a = new Recording("a");
        a.onHeaders = h -> {
            a.callbacks.sendLocalReply(403, "denied", "rbac_access_denied");
            return FilterHeadersStatus.STOP_ITERATION;
        };
        Recording b = new Recording("b");
        start(1024, a, b, new Echo());

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("ignored"), true);

        assertEquals(List.of("a.decodeHeaders", "b.encodeHeaders 403", "a.encodeHeaders 403",
                "b.encodeData 6 end", "a.encodeData 6 end"), log);
        assertEquals(List.of("headers 403", "data 6", "complete"), downstream.events);
        assertEquals("text/plain", downstream.headers.headers().get("content-type"));
        assertEquals("rbac_access_denied", info.responseCodeDetails());
    }

    @Test
    void grpcRequestGetsATrailersOnlyLocalReply() {
        Recording a = new Recording("a");
        a.onHeaders = h -> {
            a.callbacks.sendLocalReply(503, "no healthy upstream", "no_healthy_upstream");
            return FilterHeadersStatus.STOP_ITERATION;
        };
        start(1024, a, new Echo());
        HttpRequest req = request("/pkg.Greeter/SayHello");
        req.headers().set("content-type", "application/grpc+proto");

        fm.decodeHeaders(req, false);

        assertEquals(List.of("headers 200 end", "complete"), downstream.events);
        HttpHeaders h = downstream.headers.headers();
        assertEquals("application/grpc", h.get("content-type"));
        assertEquals("14", h.get("grpc-status"), "503 maps to UNAVAILABLE as in Envoy");
        assertEquals("no healthy upstream", h.get("grpc-message"));
    }

    @Test
    void anEncoderFilterReplacesAResponseItHoldsWithALocalReply() {
        Recording a = new Recording("a");
        a.onEncodeHeaders = h -> {
            if (h.status().code() == 200) {
                a.encoderCallbacks.sendLocalReply(502, "bad upstream", "test_replaced");
                return FilterHeadersStatus.STOP_ITERATION;
            }
            return FilterHeadersStatus.CONTINUE;
        };
        Echo echo = new Echo();
        start(1024, a, echo);

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("payload"), true);

        assertEquals(List.of("headers 502", "data 12", "complete"), downstream.events);
        assertEquals("bad upstream", downstream.body());
    }

    @Test
    void clearRouteCacheMakesTheRouteBeChosenAgain() throws Exception {
        RouteTable table = HttpFilterRegistryTest.table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - name: canary
                    match: { prefix: /, headers: [ { name: x-variant, string_match: { exact: canary } } ] }
                    route: { cluster: canary }
                  - name: stable
                    match: { prefix: / }
                    route: { cluster: stable }
                """);
        for (boolean clear : new boolean[] {false, true}) {
            Recording a = new Recording("a");
            a.onHeaders = h -> {
                assertEquals("stable", a.callbacks.route().name()); // cached now
                h.headers().set("x-variant", "canary");
                if (clear) {
                    a.callbacks.clearRouteCache();
                }
                return FilterHeadersStatus.CONTINUE;
            };
            Echo echo = new Echo();
            StreamInfo si = new StreamInfo();
            FilterManager m = new FilterManager(downstream, clock.eventLoop(), si, ConnectionInfo.create(null, null),
                    table::route, LocalReply.DEFAULT, 1024, List.of(a, echo));
            m.decodeHeaders(request("/"), true);
            assertEquals(clear ? "canary" : "stable", echo.routeName);
            assertEquals(clear ? "canary" : "stable", si.routeName());
            m.destroy();
            downstream.release();
        }
    }

    @Test
    void onDestroyRunsOnceForEveryFilter() {
        Recording a = new Recording("a");
        Recording b = new Recording("b");
        Echo echo = new Echo();
        start(1024, a, b, echo);
        fm.decodeHeaders(request("/"), true);
        fm.destroy();
        fm.destroy();
        assertEquals(1, a.destroyed);
        assertEquals(1, b.destroyed);
        assertEquals(1, echo.destroyed);
        fm.decodeData(bytes("late"), true); // released, not passed on
        assertEquals(1, a.destroyed);
    }

    @Test
    void anEncoderFilterPausesTheResponseAndResumesOnItsTimer() {
        Recording a = new Recording("a");
        a.onEncodeHeaders = h -> {
            a.encoderCallbacks.eventLoop().schedule(() -> {
                h.headers().set("x-late", "1");
                a.encoderCallbacks.continueEncoding();
            }, 50, TimeUnit.MILLISECONDS);
            return FilterHeadersStatus.STOP_ALL_ITERATION_AND_BUFFER;
        };
        start(1024, a, new Echo());

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("abc"), false);
        fm.decodeTrailers(trailers("t", "1"));
        assertEquals(List.of(), downstream.events, "the response waits at the paused encoder filter");

        clock.forwardTime(50, TimeUnit.MILLISECONDS);
        assertEquals(List.of("headers 200", "data 3", "trailers", "complete"), downstream.events);
        assertEquals("1", downstream.headers.headers().get("x-late"));
        assertEquals("1", downstream.trailers.get("t"));
    }

    @Test
    void aFilterStopsTheRequestTrailersUntilItContinues() {
        Recording a = new Recording("a") {
            @Override
            public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
                log.add("a.decodeTrailers stop");
                return FilterTrailersStatus.STOP_ITERATION;
            }
        };
        Recording b = new Recording("b");
        start(1024, a, b, new Echo());

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("abc"), false);
        fm.decodeTrailers(trailers("t", "1"));
        assertFalse(log.contains("b.decodeTrailers"));
        a.callbacks.continueDecoding();
        assertTrue(log.contains("b.decodeTrailers"));
        assertEquals(List.of("headers 200", "data 3", "trailers", "complete"), downstream.events);
    }

    @Test
    void aFilterGivesAHeadersOnlyRequestABody() {
        Recording a = new Recording("a");
        a.onHeaders = h -> {
            a.callbacks.addDecodedData(bytes("added"));
            return FilterHeadersStatus.CONTINUE;
        };
        Recording b = new Recording("b");
        start(1024, a, b, new Echo());

        fm.decodeHeaders(request("/"), true);

        assertEquals(List.of("a.decodeHeaders", "b.decodeHeaders", "b.decodeData 5 end",
                "b.encodeHeaders 200", "a.encodeHeaders 200", "b.encodeData 5 end", "a.encodeData 5 end"), log);
        assertEquals("added", downstream.body());
    }

    @Test
    void aFilterThatThrowsEndsItsStreamWith500() {
        Recording a = new Recording("a");
        a.onHeaders = h -> {
            throw new IllegalStateException("bug in a filter");
        };
        Recording b = new Recording("b");
        start(1024, a, b, new Echo());

        fm.decodeHeaders(request("/"), false);
        fm.decodeData(bytes("dropped"), true);

        assertEquals(List.of("headers 500", "data 21", "complete"), downstream.events);
        assertEquals("filter_exception", info.responseCodeDetails());
        assertFalse(log.contains("b.decodeHeaders"));
        fm.destroy();
        assertEquals(1, a.destroyed);
        assertEquals(1, b.destroyed);
    }

    @Test
    void encoderOnlyAndDecoderOnlyFiltersRunInTheirDirectionOnly() {
        List<String> seen = new ArrayList<>();
        StreamDecoderFilter decoderOnly = new StreamDecoderFilter() {
            @Override
            public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
                seen.add("decoder");
                return FilterHeadersStatus.CONTINUE;
            }
        };
        io.jmesh.proxy.filter.StreamEncoderFilter encoderOnly = new io.jmesh.proxy.filter.StreamEncoderFilter() {
            @Override
            public FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
                seen.add("encoder");
                headers.headers().set("x-added", "yes");
                return FilterHeadersStatus.CONTINUE;
            }
        };
        start(1024, decoderOnly, encoderOnly, new Echo());
        fm.decodeHeaders(request("/"), true);
        assertEquals(List.of("decoder", "encoder"), seen);
        assertEquals("yes", downstream.headers.headers().get("x-added"));
    }

    // ------------------------------------------------------------------ harness

    private void start(int bufferLimit, StreamFilterBase... filters) {
        Function<HttpRequest, RouteEntry> noRoutes = r -> null;
        fm = new FilterManager(downstream, clock.eventLoop(), info, ConnectionInfo.create(null, null), noRoutes,
                LocalReply.DEFAULT, bufferLimit, List.of(filters));
    }

    private static HttpRequest request(String path) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path);
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    private static HttpHeaders trailers(String name, String value) {
        return new DefaultHttpHeaders().set(name, value);
    }

    /** What reaches the codec. */
    private static final class Downstream implements FilterManager.Callbacks {
        final List<String> events = new ArrayList<>();
        final List<Boolean> readable = new ArrayList<>();
        final List<ByteBuf> data = new ArrayList<>();
        HttpResponse headers;
        HttpHeaders trailers;

        @Override
        public void encodeHeaders(HttpResponse h, boolean endStream) {
            headers = h;
            events.add("headers " + h.status().code() + (endStream ? " end" : ""));
        }

        @Override
        public void encodeData(ByteBuf d, boolean endStream) {
            data.add(d);
            events.add("data " + d.readableBytes());
        }

        @Override
        public void encodeTrailers(HttpHeaders t) {
            trailers = t;
            events.add("trailers");
        }

        @Override
        public void flush() {
        }

        @Override
        public void onEncodeComplete() {
            events.add("complete");
        }

        @Override
        public void resetStream() {
            events.add("reset");
        }

        @Override
        public void setDownstreamReadable(boolean r) {
            readable.add(r);
        }

        String body() {
            StringBuilder b = new StringBuilder();
            for (ByteBuf d : data) {
                b.append(d.toString(StandardCharsets.UTF_8));
            }
            return b.toString();
        }

        void release() {
            data.forEach(ByteBuf::release);
            data.clear();
            events.clear();
        }
    }

    private interface DataHandler {
        FilterDataStatus apply(ByteBuf data, boolean end);
    }

    /** A filter of both directions that logs every call and returns what the test says. */
    private class Recording implements HttpFilter {
        final String name;
        Function<HttpRequest, FilterHeadersStatus> onHeaders = h -> FilterHeadersStatus.CONTINUE;
        DataHandler onData = (d, e) -> FilterDataStatus.CONTINUE;
        Function<HttpResponse, FilterHeadersStatus> onEncodeHeaders = h -> FilterHeadersStatus.CONTINUE;
        DataHandler onEncodeData = (d, e) -> FilterDataStatus.CONTINUE;
        StreamDecoderFilterCallbacks callbacks;
        StreamEncoderFilterCallbacks encoderCallbacks;
        int destroyed;

        Recording(String name) {
            this.name = name;
        }

        @Override
        public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks c) {
            callbacks = c;
        }

        @Override
        public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks c) {
            encoderCallbacks = c;
        }

        @Override
        public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
            log.add(name + ".decodeHeaders");
            return onHeaders.apply(headers);
        }

        @Override
        public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
            log.add(name + ".decodeData " + data.readableBytes() + (endStream ? " end" : ""));
            return onData.apply(data, endStream);
        }

        @Override
        public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
            log.add(name + ".decodeTrailers");
            return FilterTrailersStatus.CONTINUE;
        }

        @Override
        public FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
            log.add(name + ".encodeHeaders " + headers.status().code());
            return onEncodeHeaders.apply(headers);
        }

        @Override
        public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
            log.add(name + ".encodeData " + data.readableBytes() + (endStream ? " end" : ""));
            return onEncodeData.apply(data, endStream);
        }

        @Override
        public FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
            log.add(name + ".encodeTrailers");
            return FilterTrailersStatus.CONTINUE;
        }

        @Override
        public void onDestroy() {
            destroyed++;
        }
    }

    /** A terminal filter that answers 200 with the request body and trailers once the request ended. */
    private static final class Echo implements StreamDecoderFilter {
        StreamDecoderFilterCallbacks callbacks;
        final List<ByteBuf> body = new ArrayList<>();
        String routeName;
        int destroyed;

        @Override
        public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks c) {
            callbacks = c;
        }

        @Override
        public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
            RouteEntry r = callbacks.route();
            routeName = r == null ? null : r.name();
            if (endStream) {
                callbacks.encodeHeaders(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK), true);
            }
            return FilterHeadersStatus.STOP_ITERATION;
        }

        @Override
        public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
            body.add(data);
            if (endStream) {
                respond(null);
            }
            return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
        }

        @Override
        public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
            respond(trailers);
            return FilterTrailersStatus.STOP_ITERATION;
        }

        private void respond(HttpHeaders trailers) {
            callbacks.encodeHeaders(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK), false);
            ByteBuf all = Unpooled.wrappedBuffer(body.toArray(new ByteBuf[0]));
            body.clear();
            callbacks.encodeData(all, trailers == null);
            if (trailers != null) {
                callbacks.encodeTrailers(trailers);
            }
        }

        @Override
        public void onDestroy() {
            destroyed++;
            body.forEach(ByteBuf::release);
            body.clear();
        }
    }
}

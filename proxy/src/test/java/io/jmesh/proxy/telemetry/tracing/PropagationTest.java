package io.jmesh.proxy.telemetry.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;

class PropagationTest {

    private static HttpHeaders headers(String... kv) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < kv.length; i += 2) {
            h.add(kv[i], kv[i + 1]);
        }
        return h;
    }

    /** HTTP headers as the tracer reads them. */
    private static TraceCarrier carrier(String... kv) {
        return TraceCarrier.of(headers(kv));
    }

    @Test
    void b3MultiHeaders() {
        TraceContext c = Propagation.extractB3(carrier("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124",
                "x-b3-spanid", "a2fb4a1d1a96d312", "x-b3-parentspanid", "0020000000000001", "x-b3-sampled", "1"));
        assertEquals("463ac35c9f6413ad48485a3953bb6124", c.traceIdHex());
        assertEquals("a2fb4a1d1a96d312", c.spanIdHex());
        assertEquals("0020000000000001", c.parentIdHex());
        assertTrue(c.isSampled());
    }

    @Test
    void b3MultiSixtyFourBitUnsampledAndDebug() {
        TraceContext c = Propagation.extractB3(carrier("x-b3-traceid", "48485a3953bb6124",
                "x-b3-spanid", "a2fb4a1d1a96d312", "x-b3-sampled", "0"));
        assertEquals("48485a3953bb6124", c.traceIdHex());
        assertEquals(Boolean.FALSE, c.sampled());
        assertNull(c.parentIdHex());
        TraceContext debug = Propagation.extractB3(carrier("x-b3-traceid", "48485a3953bb6124",
                "x-b3-spanid", "a2fb4a1d1a96d312", "x-b3-flags", "1"));
        assertTrue(debug.debug());
        assertTrue(debug.isSampled());
    }

    @Test
    void b3SingleHeader() {
        TraceContext c = Propagation.extractB3(carrier(
                "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"));
        assertEquals("80f198ee56343ba864fe8b2a57d3eff7", c.traceIdHex());
        assertEquals("e457b5a2e4d86bd1", c.spanIdHex());
        assertEquals("05e3ac9a4f6e3b90", c.parentIdHex());
        assertTrue(c.isSampled());
        TraceContext noFlag = Propagation.extractB3(carrier("b3", "80f198ee56343ba8-e457b5a2e4d86bd1"));
        assertNull(noFlag.sampled());
        TraceContext deny = Propagation.extractB3(carrier("b3", "0"));
        assertEquals(0, deny.traceIdLow());
        assertEquals(Boolean.FALSE, deny.sampled());
    }

    @Test
    void b3SingleWinsOverMulti() {
        TraceContext c = Propagation.extractB3(carrier("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-0",
                "x-b3-traceid", "48485a3953bb6124", "x-b3-spanid", "a2fb4a1d1a96d312", "x-b3-sampled", "1"));
        assertEquals("80f198ee56343ba8", c.traceIdHex());
        assertFalse(c.isSampled());
    }

    @Test
    void malformedB3ReadsAsAbsent() {
        assertNull(Propagation.extractB3(carrier("x-b3-traceid", "XYZ", "x-b3-spanid", "a2fb4a1d1a96d312")));
        assertNull(Propagation.extractB3(carrier("x-b3-traceid", "48485a3953bb6124", "x-b3-spanid", "a2fb")));
        assertNull(Propagation.extractB3(carrier("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-x")));
        assertNull(Propagation.extractB3(carrier("b3", "0000000000000000-e457b5a2e4d86bd1")));
        assertNull(Propagation.extractB3(carrier()));
    }

    @Test
    void w3cTraceparentAndTracestate() {
        TraceContext c = Propagation.extractW3c(carrier(
                "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate", "congo=t61rcWkgMzE"));
        assertEquals("0af7651916cd43dd8448eb211c80319c", c.traceIdHex());
        assertEquals("b7ad6b7169203331", c.spanIdHex());
        assertTrue(c.isSampled());
        assertEquals("congo=t61rcWkgMzE", c.traceState());
        TraceContext unsampled = Propagation.extractW3c(carrier(
                "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"));
        assertEquals(Boolean.FALSE, unsampled.sampled());
    }

    @Test
    void malformedTraceparentReadsAsAbsent() {
        assertNull(Propagation.extractW3c(carrier("traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01")));
        assertNull(Propagation.extractW3c(carrier("traceparent", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")));
        assertNull(Propagation.extractW3c(carrier("traceparent", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
        assertNull(Propagation.extractW3c(carrier("traceparent", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01")));
        assertNull(Propagation.extractW3c(carrier("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x")));
        // a later version may add fields after the flags
        TraceContext future = Propagation.extractW3c(carrier(
                "traceparent", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"));
        assertEquals("b7ad6b7169203331", future.spanIdHex());
    }

    @Test
    void preferredFormatFirstThenTheOther() {
        HttpHeaders h = headers("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "x-b3-traceid", "48485a3953bb6124", "x-b3-spanid", "a2fb4a1d1a96d312");
        assertEquals("a2fb4a1d1a96d312", Propagation.extract(TraceCarrier.of(h), Propagation.Format.B3).spanIdHex());
        assertEquals("b7ad6b7169203331", Propagation.extract(TraceCarrier.of(h), Propagation.Format.W3C).spanIdHex());
        HttpHeaders onlyW3c = headers("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        assertEquals("b7ad6b7169203331", Propagation.extract(TraceCarrier.of(onlyW3c), Propagation.Format.B3).spanIdHex());
    }

    @Test
    void injectRoundTrips() {
        TraceContext c = new TraceContext(0x463ac35c9f6413adL, 0x48485a3953bb6124L, 0xa2fb4a1d1a96d312L,
                0x20000000000001L, true, false, "k=v");
        HttpHeaders h = headers("b3", "stale-value");
        Propagation.injectB3(TraceCarrier.of(h), c);
        assertFalse(h.contains("b3"));
        assertEquals("463ac35c9f6413ad48485a3953bb6124", h.get("x-b3-traceid"));
        assertEquals("a2fb4a1d1a96d312", h.get("x-b3-spanid"));
        assertEquals("0020000000000001", h.get("x-b3-parentspanid"));
        assertEquals("1", h.get("x-b3-sampled"));
        TraceContext back = Propagation.extractB3(TraceCarrier.of(h));
        assertEquals(new TraceContext(c.traceIdHigh(), c.traceIdLow(), c.spanId(), c.parentId(), true, false, null), back);
        HttpHeaders w = new DefaultHttpHeaders();
        Propagation.injectW3c(TraceCarrier.of(w), c.withSampled(false));
        assertEquals("00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-00", w.get("traceparent"));
        assertEquals("k=v", w.get("tracestate"));
    }

    @Test
    void requestIdCarriesTheTraceReason() {
        String rid = "2d6c9c5b-6b8a-4f3e-9c1d-1a2b3c4d5e6f";
        assertEquals(TraceReason.NOT_TRACEABLE, TraceReason.of(rid));
        String sampled = TraceReason.SAMPLING.mark(rid);
        assertEquals("2d6c9c5b-6b8a-9f3e-9c1d-1a2b3c4d5e6f", sampled);
        assertEquals(TraceReason.SAMPLING, TraceReason.of(sampled));
        assertEquals(TraceReason.SERVICE_FORCED, TraceReason.of(TraceReason.SERVICE_FORCED.mark(rid)));
        assertEquals(TraceReason.CLIENT_FORCED, TraceReason.of(TraceReason.CLIENT_FORCED.mark(rid)));
        assertEquals("not-a-uuid", TraceReason.SAMPLING.mark("not-a-uuid"));
        assertEquals(TraceReason.NOT_TRACEABLE, TraceReason.of("not-a-uuid"));
        assertEquals(0x2d6c9c5bL, TraceReason.stableRandom(rid));
        assertEquals(-1, TraceReason.stableRandom(null));
    }
}

package io.jmesh.proxy.telemetry.tracing;

import io.netty.util.AsciiString;

/**
 * Reads and writes trace context headers: B3 in its multi-header form ({@code x-b3-traceid}, {@code x-b3-spanid},
 * {@code x-b3-parentspanid}, {@code x-b3-sampled}, {@code x-b3-flags}) and its single-header form ({@code b3:
 * traceid-spanid[-sampling[-parentspanid]]} or just {@code b3: 0|1|d}), as openzipkin/b3-propagation specifies,
 * and W3C Trace Context ({@code traceparent: 00-traceid-parentid-flags}, {@code tracestate}). A malformed header
 * reads as absent (a new trace starts), as Envoy's extractors do. Stateless and thread-safe.
 */
public final class Propagation {

    public static final AsciiString X_B3_TRACE_ID = AsciiString.cached("x-b3-traceid");
    public static final AsciiString X_B3_SPAN_ID = AsciiString.cached("x-b3-spanid");
    public static final AsciiString X_B3_PARENT_SPAN_ID = AsciiString.cached("x-b3-parentspanid");
    public static final AsciiString X_B3_SAMPLED = AsciiString.cached("x-b3-sampled");
    public static final AsciiString X_B3_FLAGS = AsciiString.cached("x-b3-flags");
    public static final AsciiString B3 = AsciiString.cached("b3");
    public static final AsciiString TRACEPARENT = AsciiString.cached("traceparent");
    public static final AsciiString TRACESTATE = AsciiString.cached("tracestate");

    /** The formats a tracer reads first and writes. */
    public enum Format { B3, W3C }

    private Propagation() {}

    /**
     * The incoming context, trying {@code preferred} first and then the other format; null when no header carries
     * one. A context without ids ({@link TraceContext#traceIdLow()} 0) carries only a sampling decision
     * ({@code b3: 0}, {@code x-b3-sampled} alone).
     */
    public static TraceContext extract(TraceCarrier h, Format preferred) {
        TraceContext c = preferred == Format.W3C ? extractW3c(h) : extractB3(h);
        if (c == null) {
            c = preferred == Format.W3C ? extractB3(h) : extractW3c(h);
        }
        return c;
    }

    /** B3, the single header first (it wins when both are present, as in Envoy's extractor). */
    public static TraceContext extractB3(TraceCarrier h) {
        String single = h.get(B3);
        if (single != null) {
            return parseB3Single(single.trim());
        }
        String traceId = h.get(X_B3_TRACE_ID);
        String spanId = h.get(X_B3_SPAN_ID);
        Boolean sampled = parseSampled(h.get(X_B3_SAMPLED));
        boolean debug = "1".equals(h.get(X_B3_FLAGS));
        if (traceId == null || spanId == null) {
            return sampled == null && !debug ? null : new TraceContext(0, 0, 0, 0, debug ? Boolean.TRUE : sampled, debug, null);
        }
        traceId = traceId.trim();
        spanId = spanId.trim();
        if (!validId(traceId, true) || !validId(spanId, false)) {
            return null;
        }
        String parent = h.get(X_B3_PARENT_SPAN_ID);
        long parentId = 0;
        if (parent != null) {
            parent = parent.trim();
            if (!validId(parent, false)) {
                return null;
            }
            parentId = TraceContext.parseHex(parent);
        }
        long[] t = traceId(traceId);
        long span = TraceContext.parseHex(spanId);
        if (t[1] == 0 && t[0] == 0 || span == 0) {
            return null;
        }
        return new TraceContext(t[0], t[1], span, parentId, debug ? Boolean.TRUE : sampled, debug, null);
    }

    /** {@code b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]} or {@code b3: {sampling}}. */
    static TraceContext parseB3Single(String v) {
        if (v.length() == 1) {
            Boolean s = parseSampled(v);
            boolean debug = v.equals("d");
            return s == null && !debug ? null : new TraceContext(0, 0, 0, 0, debug ? Boolean.TRUE : s, debug, null);
        }
        String[] parts = v.split("-", -1);
        if (parts.length < 2 || parts.length > 4 || !validId(parts[0], true) || !validId(parts[1], false)) {
            return null;
        }
        Boolean sampled = null;
        boolean debug = false;
        if (parts.length >= 3) {
            debug = parts[2].equals("d");
            sampled = debug ? Boolean.TRUE : parseSampled(parts[2]);
            if (sampled == null) {
                return null;
            }
        }
        long parentId = 0;
        if (parts.length == 4) {
            if (!validId(parts[3], false)) {
                return null;
            }
            parentId = TraceContext.parseHex(parts[3]);
        }
        long[] t = traceId(parts[0]);
        long span = TraceContext.parseHex(parts[1]);
        if (t[0] == 0 && t[1] == 0 || span == 0) {
            return null;
        }
        return new TraceContext(t[0], t[1], span, parentId, sampled, debug, null);
    }

    /** W3C {@code traceparent} (any version but {@code ff}, reading the fields of version 00) and {@code tracestate}. */
    public static TraceContext extractW3c(TraceCarrier h) {
        String tp = h.get(TRACEPARENT);
        if (tp == null) {
            return null;
        }
        tp = tp.trim();
        if (tp.length() < 55 || tp.charAt(2) != '-' || tp.charAt(35) != '-' || tp.charAt(52) != '-'
                || tp.length() > 55 && tp.charAt(55) != '-') {
            return null;
        }
        String version = tp.substring(0, 2);
        String trace = tp.substring(3, 35);
        String span = tp.substring(36, 52);
        String flags = tp.substring(53, 55);
        if (!TraceContext.isLowerHex(version) || version.equals("ff") || version.equals("00") && tp.length() != 55
                || !TraceContext.isLowerHex(trace) || !TraceContext.isLowerHex(span)
                || !TraceContext.isLowerHex(flags)) {
            return null;
        }
        long hi = TraceContext.parseHex(trace.substring(0, 16));
        long lo = TraceContext.parseHex(trace.substring(16));
        long spanId = TraceContext.parseHex(span);
        if (hi == 0 && lo == 0 || spanId == 0) {
            return null;
        }
        boolean sampled = (Integer.parseInt(flags, 16) & 1) == 1;
        String state = h.get(TRACESTATE);
        return new TraceContext(hi, lo, spanId, 0, sampled, false, state);
    }

    /**
     * Writes {@code c} as B3 multi headers (the form Envoy's Zipkin tracer sends) and removes a {@code b3} single
     * header, which would otherwise win over them at the next hop.
     */
    public static void injectB3(TraceCarrier h, TraceContext c) {
        h.remove(B3);
        h.set(X_B3_TRACE_ID, c.traceIdHex());
        h.set(X_B3_SPAN_ID, c.spanIdHex());
        if (c.parentId() != 0) {
            h.set(X_B3_PARENT_SPAN_ID, c.parentIdHex());
        } else {
            h.remove(X_B3_PARENT_SPAN_ID);
        }
        h.set(X_B3_SAMPLED, c.isSampled() ? "1" : "0");
        if (c.debug()) {
            h.set(X_B3_FLAGS, "1");
        }
    }

    /** Writes {@code c} as W3C {@code traceparent} (version 00) and its {@code tracestate}, if any. */
    public static void injectW3c(TraceCarrier h, TraceContext c) {
        h.set(TRACEPARENT, traceparent(c));
        if (c.traceState() != null && !c.traceState().isEmpty()) {
            h.set(TRACESTATE, c.traceState());
        }
    }

    /** {@code 00-{32 hex trace id}-{16 hex span id}-{01|00}}. */
    public static String traceparent(TraceContext c) {
        return "00-" + c.traceId128Hex() + "-" + c.spanIdHex() + (c.isSampled() ? "-01" : "-00");
    }

    /** B3's sampling values: {@code 1}/{@code true}, {@code 0}/{@code false}, {@code d} (debug: sampled). */
    static Boolean parseSampled(String v) {
        if (v == null) {
            return null;
        }
        switch (v.trim()) {
            case "1":
            case "true":
            case "d":
                return Boolean.TRUE;
            case "0":
            case "false":
                return Boolean.FALSE;
            default:
                return null;
        }
    }

    private static boolean validId(String s, boolean traceId) {
        return TraceContext.isLowerHex(s) && (traceId ? s.length() == 16 || s.length() == 32 : s.length() == 16);
    }

    private static long[] traceId(String s) {
        return s.length() == 32
                ? new long[] {TraceContext.parseHex(s.substring(0, 16)), TraceContext.parseHex(s.substring(16))}
                : new long[] {0, TraceContext.parseHex(s)};
    }
}

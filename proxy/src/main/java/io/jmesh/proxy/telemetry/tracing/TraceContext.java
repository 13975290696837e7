package io.jmesh.proxy.telemetry.tracing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The identity of one span as it travels between hops: a 64- or 128-bit trace id, the span id, the parent's span id
 * (0: a root span), the sampling flag ({@code null}: the sender did not decide) and, for W3C, the opaque
 * {@code tracestate}. Immutable.
 *
 * @param traceIdHigh the high 64 bits of a 128-bit trace id, 0 for a 64-bit one
 * @param traceIdLow  the low 64 bits of the trace id, never 0
 * @param spanId      the span id, never 0
 * @param parentId    the parent's span id, 0 for none
 * @param sampled     whether the trace is sampled, null when the sender left it to the receiver
 * @param debug       B3's debug flag ({@code x-b3-flags: 1}, {@code b3: ...-d}): sampled, and forced
 * @param traceState  W3C {@code tracestate}, null when absent
 */
public record TraceContext(long traceIdHigh, long traceIdLow, long spanId, long parentId, Boolean sampled,
                           boolean debug, String traceState) {

    /** A new root context with a random trace id (128-bit when {@code traceId128}) and span id. */
    public static TraceContext newRoot(boolean traceId128, boolean sampled) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return new TraceContext(traceId128 ? nonZero(r) : 0, nonZero(r), nonZero(r), 0, sampled, false, null);
    }

    /** A child of this context: same trace, a new random span id whose parent is this span. */
    public TraceContext child(boolean sampled) {
        return new TraceContext(traceIdHigh, traceIdLow, nonZero(ThreadLocalRandom.current()), spanId, sampled, debug,
                traceState);
    }

    /** This context with another sampling decision. */
    public TraceContext withSampled(boolean sampled) {
        return new TraceContext(traceIdHigh, traceIdLow, spanId, parentId, sampled, debug, traceState);
    }

    /** The trace id in lower-case hex: 16 characters, or 32 for a 128-bit id. */
    public String traceIdHex() {
        return traceIdHigh == 0 ? hex(traceIdLow) : hex(traceIdHigh) + hex(traceIdLow);
    }

    /** The trace id as 32 hex characters (W3C and OTLP always carry 128 bits). */
    public String traceId128Hex() {
        return hex(traceIdHigh) + hex(traceIdLow);
    }

    public String spanIdHex() {
        return hex(spanId);
    }

    /** The parent span id in hex, or null for a root span. */
    public String parentIdHex() {
        return parentId == 0 ? null : hex(parentId);
    }

    /** Whether the trace is sampled: the sender's flag, or debug. */
    public boolean isSampled() {
        return debug || Boolean.TRUE.equals(sampled);
    }

    static long nonZero(ThreadLocalRandom r) {
        long v;
        do {
            v = r.nextLong();
        } while (v == 0);
        return v;
    }

    /** 16 lower-case hex characters. */
    public static String hex(long v) {
        String s = Long.toHexString(v);
        return s.length() == 16 ? s : "0".repeat(16 - s.length()) + s;
    }

    /** Whether {@code s} is 1 to 32 lower-case hex characters (B3 and W3C ids are lower-case). */
    static boolean isLowerHex(String s) {
        if (s.isEmpty() || s.length() > 32) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** Parses at most 16 hex characters as an unsigned long. */
    static long parseHex(String s) {
        return Long.parseUnsignedLong(s, 16);
    }
}

package io.jmesh.proxy.telemetry.tracing;

/**
 * Why a request is traced, as Envoy keeps it in the version nibble (character 14) of a UUID {@code x-request-id}
 * so that every hop makes the same decision: {@code 9} sampled, {@code a} forced by {@code x-envoy-force-trace},
 * {@code b} forced by the client's {@code x-client-trace-id}, {@code 4} (or anything else) not traced. See Envoy's
 * {@code UUIDRequestIDExtension}.
 */
public enum TraceReason {
    NOT_TRACEABLE('4'),
    SAMPLING('9'),
    SERVICE_FORCED('a'),
    CLIENT_FORCED('b');

    /** The index of the version character in {@code xxxxxxxx-xxxx-Vxxx-xxxx-xxxxxxxxxxxx}. */
    static final int TRACE_BYTE_POSITION = 14;
    private static final int UUID_LENGTH = 36;

    private final char mark;

    TraceReason(char mark) {
        this.mark = mark;
    }

    /** Whether this reason traces the request. */
    public boolean traced() {
        return this != NOT_TRACEABLE;
    }

    /** The reason a request id carries; {@link #NOT_TRACEABLE} when it is absent or not a UUID. */
    public static TraceReason of(String requestId) {
        if (requestId == null || requestId.length() != UUID_LENGTH) {
            return NOT_TRACEABLE;
        }
        switch (requestId.charAt(TRACE_BYTE_POSITION)) {
            case '9':
                return SAMPLING;
            case 'a':
                return SERVICE_FORCED;
            case 'b':
                return CLIENT_FORCED;
            default:
                return NOT_TRACEABLE;
        }
    }

    /** {@code requestId} marked with this reason; unchanged when it is not a 36-character UUID. */
    public String mark(String requestId) {
        if (requestId == null || requestId.length() != UUID_LENGTH) {
            return requestId;
        }
        char[] c = requestId.toCharArray();
        c[TRACE_BYTE_POSITION] = mark;
        return new String(c);
    }

    /**
     * A stable number from the request id for sampling (Envoy's {@code use_request_id_for_trace_sampling}): the
     * first 8 hex characters of the UUID; -1 when it is not a UUID (the caller then draws a random number).
     */
    public static long stableRandom(String requestId) {
        if (requestId == null || requestId.length() != UUID_LENGTH) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < 8; i++) {
            int d = Character.digit(requestId.charAt(i), 16);
            if (d < 0) {
                return -1;
            }
            v = (v << 4) | d;
        }
        return v;
    }
}

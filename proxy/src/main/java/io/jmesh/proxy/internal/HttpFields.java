package io.jmesh.proxy.internal;

import java.util.Iterator;
import java.util.Map;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * Syntax checks for HTTP field names, values, methods and request targets (RFC 9110 section 5.1 and 5.5,
 * RFC 9113 section 8.2.1), shared by the downstream HTTP/2 validation and the guard in front of every HTTP/1.1
 * encoder: whatever reaches an HTTP/1.1 wire can never start a new line or a new request.
 */
public final class HttpFields {

    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private HttpFields() {}

    /** Whether {@code s} is a non-empty RFC 9110 token (a field name or a method); {@code lowercase} for HTTP/2. */
    public static boolean isToken(CharSequence s, boolean lowercase) {
        int n = s.length();
        if (n == 0) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 128 || !TCHAR[c] || lowercase && c >= 'A' && c <= 'Z') {
                return false;
            }
        }
        return true;
    }

    /** Whether a field value holds no NUL, CR or LF: the characters that would end or split a line. */
    public static boolean isSafeValue(CharSequence v) {
        for (int i = 0, n = v.length(); i < n; i++) {
            char c = v.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a field value is valid as RFC 9113 section 8.2.1 requires: no NUL, CR or LF, and no leading or
     * trailing space or tab.
     */
    public static boolean isValidHttp2Value(CharSequence v) {
        int n = v.length();
        if (n > 0) {
            char first = v.charAt(0);
            char last = v.charAt(n - 1);
            if (first == ' ' || first == '\t' || last == ' ' || last == '\t') {
                return false;
            }
        }
        return isSafeValue(v);
    }

    /** Whether a request target holds only visible ASCII and obs-text (no space, control or DEL). */
    public static boolean isValidRequestTarget(CharSequence t) {
        int n = t.length();
        if (n == 0) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = t.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first field of {@code headers} that could not be written safely on an HTTP/1.1 connection (a name
     * that is not a token, a value with CR, LF or NUL), as {@code name} for the message; null if all are safe.
     */
    public static String firstUnsafe(HttpHeaders headers) {
        Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            if (!isToken(e.getKey(), false) || !isSafeValue(e.getValue())) {
                return printable(e.getKey());
            }
        }
        return null;
    }

    /** {@code s} with control characters escaped, at most 64 characters, for logs and messages. */
    public static String printable(CharSequence s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 64) + 8);
        for (int i = 0; i < s.length() && b.length() < 64; i++) {
            char c = s.charAt(i);
            if (c < ' ' || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * What makes a regular (non-pseudo) HTTP/2 field malformed under RFC 9113 section 8.2.1 and 8.2.2, or null:
     * a name that is not a lowercase token, an invalid value, a connection-specific field, {@code te} other than
     * {@code trailers}.
     */
    public static String http2FieldProblem(CharSequence name, CharSequence value) {
        if (!isToken(name, true)) {
            return "invalid header name " + printable(name);
        }
        if (!isValidHttp2Value(value)) {
            return "invalid value of " + name + ": " + printable(value);
        }
        if (AsciiString.contentEquals(name, "connection") || AsciiString.contentEquals(name, "keep-alive")
                || AsciiString.contentEquals(name, "proxy-connection")
                || AsciiString.contentEquals(name, "transfer-encoding") || AsciiString.contentEquals(name, "upgrade")) {
            return "connection-specific header " + name;
        }
        if (AsciiString.contentEquals(name, "te") && !AsciiString.contentEqualsIgnoreCase(value, "trailers")) {
            return "te: " + printable(value);
        }
        return null;
    }
}

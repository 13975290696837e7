package io.jmesh.proxy.network.http;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A strict HTTP/1.1 request parser (RFC 9112) used as the reference of {@link Http1RequestFuzzTest}: it returns
 * the requests that a byte stream holds whole and beyond doubt, and stops at the first byte it does not accept.
 * What RFC 9112 lets a server accept is accepted (empty lines before a request line, a bare LF as line
 * terminator, obs-fold unfolded to one SP as RFC 9112 section 5.2 allows, repeated identical Content-Length values, chunk extensions); what is a known request smuggling or
 * splitting vector is not: a bare CR, whitespace before a field colon, control characters in a field
 * value or in the request target, Transfer-Encoding other than a lone {@code chunked} or together with
 * Content-Length, Transfer-Encoding in HTTP/1.0, differing Content-Lengths, a malformed chunk, an HTTP/1.1
 * request without exactly one Host. Not thread-safe; one instance per input.
 */
final class StrictHttp1Parser {

    /** A request as a server must understand it. */
    record Request(String method, String target, String version, byte[] body) {
        @Override
        public String toString() {
            return method + " " + target + " " + version + " body=" + body.length + "B";
        }
    }

    private static final int MAX_CHUNK_SIZE_DIGITS = 8;

    private final byte[] in;
    private int pos;

    private StrictHttp1Parser(byte[] in) {
        this.in = in;
    }

    /** The requests {@code input} holds whole, in order, up to the first one that is incomplete or invalid. */
    static List<Request> parse(byte[] input) {
        StrictHttp1Parser p = new StrictHttp1Parser(input);
        List<Request> out = new ArrayList<>();
        for (;;) {
            int start = p.pos;
            Request r;
            try {
                r = p.request();
            } catch (Reject e) {
                return out;
            }
            if (r == null) {
                p.pos = start;
                return out;
            }
            out.add(r);
        }
    }

    /** Thrown at the first byte not accepted. */
    private static final class Reject extends Exception {
        private static final long serialVersionUID = 1L;

        Reject() {
            super(null, null, false, false);
        }
    }

    private static final Reject REJECT = new Reject();

    /** Returns null when the input ends before the request does. */
    private Request request() throws Reject {
        // RFC 9112 2.2: a server SHOULD ignore at least one empty line received before the request-line.
        for (;;) {
            if (pos >= in.length) {
                return null;
            }
            if (in[pos] == '\n') {
                pos++;
            } else if (in[pos] == '\r') {
                if (pos + 1 >= in.length) {
                    return null;
                }
                if (in[pos + 1] != '\n') {
                    throw REJECT;
                }
                pos += 2;
            } else {
                break;
            }
        }
        String line = line();
        if (line == null) {
            return null;
        }
        String[] parts = line.split(" ", -1);
        if (parts.length != 3 || !isToken(parts[0]) || parts[1].isEmpty() || !isTarget(parts[1])
                || !parts[2].matches("HTTP/1\\.[0-9]")) {
            throw REJECT;
        }
        String method = parts[0];
        String version = parts[2];
        boolean http10 = version.equals("HTTP/1.0");
        List<String[]> fields = fields();
        if (fields == null) {
            return null;
        }
        int hosts = 0;
        String contentLength = null;
        List<String> transferEncodings = new ArrayList<>();
        for (String[] f : fields) {
            String name = f[0].toLowerCase(Locale.ROOT);
            switch (name) {
                case "host" -> hosts++;
                case "content-length" -> {
                    for (String v : f[1].split(",", -1)) {
                        v = v.strip();
                        if (v.isEmpty() || !v.chars().allMatch(c -> c >= '0' && c <= '9') || v.length() > 15) {
                            throw REJECT;
                        }
                        String n = Long.toString(Long.parseLong(v));
                        if (contentLength != null && !contentLength.equals(n)) {
                            throw REJECT;
                        }
                        contentLength = n;
                    }
                }
                case "transfer-encoding" -> transferEncodings.add(f[1]);
                default -> { }
            }
        }
        if (!http10 && hosts != 1 || hosts > 1) {
            throw REJECT;
        }
        byte[] body;
        if (!transferEncodings.isEmpty()) {
            if (http10 || contentLength != null || transferEncodings.size() != 1
                    || !transferEncodings.get(0).equalsIgnoreCase("chunked")) {
                throw REJECT;
            }
            body = chunked();
        } else if (contentLength != null) {
            long n = Long.parseLong(contentLength);
            if (n > in.length - pos) {
                return null;
            }
            body = java.util.Arrays.copyOfRange(in, pos, pos + (int) n);
            pos += (int) n;
        } else {
            body = new byte[0];
        }
        if (body == null) {
            return null;
        }
        return new Request(method, parts[1], version, body);
    }

    /** A chunked body and its trailers, or null when the input ends first. */
    private byte[] chunked() throws Reject {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (;;) {
            String line = line();
            if (line == null) {
                return null;
            }
            int i = 0;
            while (i < line.length() && Character.digit(line.charAt(i), 16) >= 0) {
                i++;
            }
            if (i == 0 || i > MAX_CHUNK_SIZE_DIGITS) {
                throw REJECT;
            }
            String ext = line.substring(i);
            if (!ext.isEmpty() && !ext.matches("([ \\t]*;[ \\t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+([ \\t]*=[ \\t]*"
                                               + "([!#$%&'*+.^_`|~0-9A-Za-z-]+|\"[^\"\\\\]*\"))?)+")) {
                throw REJECT;
            }
            long size = Long.parseLong(line.substring(0, i), 16);
            if (size == 0) {
                List<String[]> trailers = fields();
                return trailers == null ? null : body.toByteArray();
            }
            if (size > in.length - pos) {
                return null;
            }
            body.write(in, pos, (int) size);
            pos += (int) size;
            // The chunk data ends with exactly CRLF (or LF).
            if (pos >= in.length) {
                return null;
            }
            if (in[pos] == '\n') {
                pos++;
            } else if (in[pos] == '\r') {
                if (pos + 1 >= in.length) {
                    return null;
                }
                if (in[pos + 1] != '\n') {
                    throw REJECT;
                }
                pos += 2;
            } else {
                throw REJECT;
            }
        }
    }

    /** Header or trailer fields up to the empty line, or null when the input ends first. */
    private List<String[]> fields() throws Reject {
        List<String[]> out = new ArrayList<>();
        for (;;) {
            String line = line();
            if (line == null) {
                return null;
            }
            if (line.isEmpty()) {
                return out;
            }
            if (!out.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t')) {
                // obs-fold: RFC 9112 section 5.2 lets a server replace it with SP (the proxy does, as Netty's
                // decoder unfolds) or reject it; a continuation is part of the field before it.
                String[] prev = out.get(out.size() - 1);
                checkValue(line);
                prev[1] = (prev[1] + " " + line.strip()).strip();
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line.substring(0, colon))) {
                throw REJECT; // includes a first line starting with SP/HTAB and whitespace before ':'
            }
            String value = line.substring(colon + 1);
            checkValue(value);
            out.add(new String[] {line.substring(0, colon), value.strip()});
        }
    }

    private static void checkValue(String value) throws Reject {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 && c != '\t' || c == 0x7f) {
                throw REJECT;
            }
        }
    }

    /**
     * A line without its terminator (CRLF or LF), as ISO-8859-1; null when the input ends first. A CR not
     * followed by LF is rejected.
     */
    private String line() throws Reject {
        for (int i = pos; i < in.length; i++) {
            if (in[i] == '\n') {
                int end = i > pos && in[i - 1] == '\r' ? i - 1 : i;
                for (int j = pos; j < end; j++) {
                    if (in[j] == '\r') {
                        throw REJECT;
                    }
                }
                String s = new String(in, pos, end - pos, StandardCharsets.ISO_8859_1);
                pos = i + 1;
                return s;
            }
        }
        for (int j = pos; j < in.length - 1; j++) {
            if (in[j] == '\r') {
                throw REJECT;
            }
        }
        return null;
    }

    private static boolean isToken(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
                  || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isTarget(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }
}

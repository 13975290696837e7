package io.jmesh.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * An HTTP/1.1 client on a raw socket, to send what real clients refuse to (smuggling attempts): writes the
 * bytes as given and reads one response. Reads are bounded by a 5 s socket timeout.
 */
public final class RawHttp {

    /** One response as received, and whether the server closed the connection after it. */
    public static final class Response {
        public final int status;
        public final Map<String, String> headers;
        public final String body;
        public final boolean closed;

        Response(int status, Map<String, String> headers, String body, boolean closed) {
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.closed = closed;
        }

        @Override
        public String toString() {
            return status + " " + headers + " " + body + (closed ? " (closed)" : "");
        }
    }

    private RawHttp() {}

    /**
     * Sends {@code request}, reads one response, then (when {@code awaitClose}) waits for the server to close
     * the connection: {@link Response#closed} is false if it stayed open for 5 s.
     */
    public static Response exchange(int port, String request, boolean awaitClose) throws IOException {
        return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), awaitClose);
    }

    public static Response exchange(int port, byte[] request, boolean awaitClose) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return read(s.getInputStream(), awaitClose);
        }
    }

    /** Reads one response from {@code in}; see {@link #exchange}. */
    public static Response read(InputStream in, boolean awaitClose) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before a response: " + head.toString(StandardCharsets.ISO_8859_1));
            }
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                    ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
            }
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        boolean closed = false;
        if (awaitClose) {
            try {
                closed = in.read() < 0;
            } catch (SocketTimeoutException e) {
                closed = false;
            } catch (IOException e) {
                closed = true; // reset
            }
        }
        return new Response(status, headers, new String(body, StandardCharsets.ISO_8859_1), closed);
    }
}

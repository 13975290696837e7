package io.jmesh.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/1.1 backend on raw sockets (port 0 of 127.0.0.1) that records the exact bytes each connection
 * received: the honest witness of what a proxy forwarded. It frames requests as a strict RFC 9112 server
 * would (end of headers, then {@code Content-Length} or {@code chunked}), answers each complete one (by
 * default {@code 200} with body {@code ok}), and counts them. Nothing is normalised: {@link #received()} is the wire.
 */
public final class RawBackend implements AutoCloseable {

    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<ByteArrayOutputStream> perConnection = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();

    private final byte[] response;

    private RawBackend(String response) throws IOException {
        this.response = response.getBytes(StandardCharsets.ISO_8859_1);
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "raw-backend-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static RawBackend start() throws IOException {
        return new RawBackend("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    }

    /** A backend that answers every complete request with {@code response}, written as it is. */
    public static RawBackend start(String response) throws IOException {
        return new RawBackend(response);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Complete requests received (and answered), over all connections. */
    public int requests() {
        return requests.get();
    }

    /** Connections accepted so far. */
    public int connections() {
        return perConnection.size();
    }

    /** Connections the peer has closed so far. */
    public int closedConnections() {
        return closed.get();
    }

    /** Every byte received, connections in accept order, as ISO-8859-1 text. */
    public String received() {
        StringBuilder b = new StringBuilder();
        for (ByteArrayOutputStream o : perConnection) {
            synchronized (o) {
                b.append(o.toString(StandardCharsets.ISO_8859_1));
            }
        }
        return b.toString();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                ByteArrayOutputStream record = new ByteArrayOutputStream();
                perConnection.add(record);
                Thread t = new Thread(() -> serve(s, record), "raw-backend-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, ByteArrayOutputStream record) {
        byte[] buf = new byte[16384];
        ByteArrayOutputStream pending = new ByteArrayOutputStream();
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (record) {
                    record.write(buf, 0, n);
                }
                pending.write(buf, 0, n);
                byte[] data = pending.toByteArray();
                int consumed = 0;
                int end;
                while ((end = requestEnd(data, consumed)) > 0) {
                    consumed = end;
                    requests.incrementAndGet();
                    out.write(response);
                    out.flush();
                }
                pending.reset();
                pending.write(data, consumed, data.length - consumed);
            }
        } catch (IOException ignored) {
            // reset by the peer: what was read is recorded
        } finally {
            closed.incrementAndGet();
        }
    }

    /** The offset just past the complete request starting at {@code from}, or -1 if it is not complete. */
    private static int requestEnd(byte[] d, int from) {
        int headersEnd = indexOf(d, from, "\r\n\r\n");
        if (headersEnd < 0) {
            return -1;
        }
        String head = new String(d, from, headersEnd - from, StandardCharsets.ISO_8859_1);
        int bodyStart = headersEnd + 4;
        long length = 0;
        boolean chunked = false;
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            if (name.equals("content-length")) {
                length = Long.parseLong(value);
            } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).endsWith("chunked")) {
                chunked = true;
            }
        }
        if (!chunked) {
            return d.length - bodyStart >= length ? (int) (bodyStart + length) : -1;
        }
        int p = bodyStart;
        while (true) {
            int lineEnd = indexOf(d, p, "\r\n");
            if (lineEnd < 0) {
                return -1;
            }
            String sizeText = new String(d, p, lineEnd - p, StandardCharsets.ISO_8859_1);
            int semi = sizeText.indexOf(';');
            long size = Long.parseLong((semi < 0 ? sizeText : sizeText.substring(0, semi)).trim(), 16);
            p = lineEnd + 2;
            if (size == 0) {
                int trailersEnd = indexOf(d, p - 2, "\r\n\r\n");
                return trailersEnd < 0 ? -1 : trailersEnd + 4;
            }
            if (d.length < p + size + 2) {
                return -1;
            }
            p += (int) size + 2;
        }
    }

    private static int indexOf(byte[] d, int from, String s) {
        byte[] n = s.getBytes(StandardCharsets.ISO_8859_1);
        outer:
        for (int i = from; i <= d.length - n.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (d[i + j] != n[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        server.close();
        List<Socket> all = new ArrayList<>(sockets);
        for (Socket s : all) {
            s.close();
        }
    }
}

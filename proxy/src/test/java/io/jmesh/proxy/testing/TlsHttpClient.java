package io.jmesh.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A real HTTP/1.1 client over one JDK {@link SSLSocket} kept alive across requests: the test sees the certificate
 * the server presented on this very connection. Trusts one CA; presents a client certificate when given one.
 */
public final class TlsHttpClient implements AutoCloseable {

    /** A response: status and body. */
    public record Response(int status, String body) {}

    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;

    private TlsHttpClient(SSLSocket socket) throws IOException {
        this.socket = socket;
        this.in = new java.io.BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects to 127.0.0.1:{@code port} and completes the handshake, trusting {@code ca}. */
    public static TlsHttpClient connect(int port, X509Certificate ca) throws Exception {
        return connect(port, ca, null, null);
    }

    /** As {@link #connect(int, X509Certificate)}, presenting {@code cert} with {@code key} when not null. */
    public static TlsHttpClient connect(int port, X509Certificate ca, X509Certificate cert, PrivateKey key)
            throws Exception {
        return connect("127.0.0.1", port, ca, cert, key);
    }

    /** As {@link #connect(int, X509Certificate, X509Certificate, PrivateKey)}, to {@code host} (an IP literal). */
    public static TlsHttpClient connect(String host, int port, X509Certificate ca, X509Certificate cert, PrivateKey key)
            throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (cert != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("me", key, new char[0], new java.security.cert.Certificate[] { cert });
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port);
        s.setSoTimeout(10_000);
        s.startHandshake();
        return new TlsHttpClient(s);
    }

    /** The serial number of the certificate the server presented on this connection. */
    public BigInteger serverSerial() throws IOException {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    /** Sends {@code GET path} on this connection and reads the whole response. */
    public Response get(String path) throws IOException {
        out.write(("GET " + path + " HTTP/1.1\r\nhost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String status = line();
        if (status == null) {
            throw new IOException("connection closed before the response");
        }
        int code = Integer.parseInt(status.split(" ")[1]);
        long length = -1;
        boolean chunked = false;
        for (String h = line(); h != null && !h.isEmpty(); h = line()) {
            String lower = h.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(lower.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            for (long n = Long.parseLong(line().trim(), 16); n > 0; n = Long.parseLong(line().trim(), 16)) {
                body.write(in.readNBytes((int) n));
                line();
            }
            line();
        } else if (length > 0) {
            body.write(in.readNBytes((int) length));
        }
        return new Response(code, body.toString(StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    /** Whether the server has not closed this connection (a read would not see EOF now). */
    public boolean isOpen() {
        return !socket.isClosed();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}

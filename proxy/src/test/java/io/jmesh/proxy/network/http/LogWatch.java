package io.jmesh.proxy.network.http;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Tees System.err (where slf4j-simple writes, from any thread) and returns the warning and error lines written
 * since the last {@link #reset()}; for the fuzz targets, whose property includes "nothing unexpected logged".
 */
final class LogWatch implements AutoCloseable {

    private final PrintStream original = System.err;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    private LogWatch() {}

    static LogWatch install() {
        LogWatch w = new LogWatch();
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (w.bytes) {
                    w.bytes.write(b);
                }
                w.original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (w.bytes) {
                    w.bytes.write(b, off, len);
                }
                w.original.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8));
        return w;
    }

    void reset() {
        synchronized (bytes) {
            bytes.reset();
        }
    }

    /** Lines logged at WARN or ERROR (and Netty's LEAK reports) since the last reset. */
    List<String> problems() {
        String s;
        synchronized (bytes) {
            s = bytes.toString(StandardCharsets.UTF_8);
        }
        return s.lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("LEAK:")).toList();
    }

    @Override
    public void close() {
        System.setErr(original);
    }
}

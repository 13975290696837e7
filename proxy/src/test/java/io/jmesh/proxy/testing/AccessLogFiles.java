package io.jmesh.proxy.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.jmesh.proxy.telemetry.accesslog.AccessLogs;

/**
 * Reads an access log written by a running proxy. A stream's entry is logged on its event loop just after
 * the last response bytes are written, so a client can see the response before the entry exists: wait for
 * the expected number of lines (bounded) rather than flushing once.
 */
public final class AccessLogFiles {

    private AccessLogFiles() {}

    /** Flushes and re-reads {@code log} until it has at least {@code count} lines or 10 s pass; returns its lines. */
    public static List<String> awaitLines(Path log, int count) throws InterruptedException {
        List<String> lines = List.of();
        for (int i = 0; i < 1000; i++) {
            AccessLogs.flush();
            try {
                lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (lines.size() >= count) {
                return lines;
            }
            Thread.sleep(10);
        }
        return lines;
    }
}

package io.jmesh.proxy.telemetry.tracing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A real Zipkin server ({@code io.zipkin:zipkin-server} exec jar, in-memory storage) run as a child JVM. It binds
 * port 0 of 127.0.0.1 ({@code QUERY_PORT=0}, {@code armeria.ports[0].ip}); the bound port is read from Armeria's
 * "Serving HTTP at" log line. The jar is copied to {@code target/zipkin/zipkin-server.jar} by the build.
 */
final class ZipkinServer implements AutoCloseable {

    private static final Pattern SERVING = Pattern.compile("Serving HTTP at /127\\.0\\.0\\.1:(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newHttpClient();

    private final Process process;
    private final int port;

    private ZipkinServer(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static ZipkinServer start() throws Exception {
        Path jar = Path.of("target", "zipkin", "zipkin-server.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar.toAbsolutePath() + " is missing: build with Maven (process-test-resources)");
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-jar", jar.toString(), "--armeria.ports[0].ip=127.0.0.1")
                .redirectErrorStream(true);
        pb.environment().put("QUERY_PORT", "0");
        pb.environment().put("STORAGE_TYPE", "mem");
        Process p = pb.start();
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Matcher m = SERVING.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
                port.completeExceptionally(new IllegalStateException("zipkin exited: " + p.waitFor()));
            } catch (IOException | InterruptedException e) {
                port.completeExceptionally(e);
            }
        }, "zipkin-stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            // a start-up guard, not a speed check: Zipkin needs ~20 s of CPU on a busy two-core machine
            return new ZipkinServer(p, port.get(180, TimeUnit.SECONDS));
        } catch (Exception e) {
            p.destroyForcibly();
            throw e;
        }
    }

    int port() {
        return port;
    }

    /** The spans of a trace ({@code GET /api/v2/trace/{id}}), empty while Zipkin has none. */
    List<JsonNode> trace(String traceId) {
        try {
            HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/api/v2/trace/" + traceId)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 404) {
                return List.of();
            }
            if (r.statusCode() != 200) {
                throw new IllegalStateException("zipkin answered " + r.statusCode() + ": " + r.body());
            }
            List<JsonNode> spans = new java.util.ArrayList<>();
            JSON.readTree(r.body()).forEach(spans::add);
            return spans;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}

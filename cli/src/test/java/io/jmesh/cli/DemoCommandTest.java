package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** {@code jmesh demo} starts, prints the gateway URL, serves the sample services through it, and stops by itself. */
class DemoCommandTest {

    @Test
    void demoServesThroughTheGateway() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> Main.run("demo", "--duration", "8"));
            Pattern url = Pattern.compile("gateway: +(http://127\\.0\\.0\\.1:\\d+)/productpage");
            String base = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (base == null && System.nanoTime() < deadline) {
                Matcher m = url.matcher(buf.toString(StandardCharsets.UTF_8));
                if (m.find()) {
                    base = m.group(1);
                } else {
                    Thread.sleep(50);
                }
            }
            assertTrue(base != null, "demo printed its gateway URL: " + buf);
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> page = client.send(HttpRequest.newBuilder(URI.create(base + "/productpage")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("\"service\":\"productpage\""), page.body());
            HttpResponse<String> jason = client.send(HttpRequest.newBuilder(URI.create(base + "/reviews"))
                    .header("end-user", "jason").build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(jason.body().contains("\"version\":\"v2\""), jason.body());
            assertEquals(0, run.get(30, TimeUnit.SECONDS));
        } finally {
            System.setOut(old);
        }
    }
}

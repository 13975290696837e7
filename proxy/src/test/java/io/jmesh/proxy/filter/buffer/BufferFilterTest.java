package io.jmesh.proxy.filter.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.buffer} through a real proxy: whole bodies go upstream, too long ones get 413. */
class BufferFilterTest {

    static final String BUFFER = "envoy.filters.http.buffer";

    static String buffer(int max) {
        return Bootstraps.typed("envoy.extensions.filters.http.buffer.v3.Buffer", "max_request_bytes: " + max);
    }

    static String perRoute(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.buffer.v3.BufferPerRoute", fields);
    }

    @Test
    void bodiesUpToTheLimitGoUpstreamWholeAndLongerOnesGet413() throws Exception {
        Path small = Files.createTempFile("small", ".bin");
        Path big = Files.createTempFile("big", ".bin");
        Path huge = Files.createTempFile("huge", ".bin");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(BUFFER, buffer(4096))
                     .route("/off", "backend", BUFFER, perRoute("disabled: true"))
                     .route("/sinklarge", "backend", BUFFER, perRoute("buffer: { max_request_bytes: 3000000 }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            Files.write(small, new byte[4096]);
            Files.write(big, new byte[4097]);
            Files.write(huge, new byte[2_500_000]);
            for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
                // chunked: the upstream gets the length the buffer filter counted
                Curl.Result ok = Curl.run(version, "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + small,
                        proxy.url("/sink"));
                assertEquals(200, ok.status, ok.toString());
                assertEquals("received 4096\n", ok.body);
                Curl.Result tooLarge = Curl.run(version, "--data-binary", "@" + big, proxy.url("/sink"));
                assertEquals(413, tooLarge.status, tooLarge.toString());
                assertEquals("Payload Too Large", tooLarge.body);
            }
            Curl.Result echo = Curl.run("--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + small,
                    proxy.url("/echo"));
            assertTrue(echo.body.contains("header content-length=4096"), echo.body);

            Curl.Result off = Curl.run("--data-binary", "@" + big, proxy.url("/off"));
            assertEquals(200, off.status, "BufferPerRoute disabled: " + off);
            Curl.Result large = Curl.run("--data-binary", "@" + huge, proxy.url("/sinklarge"));
            assertEquals(200, large.status, "a route's own max_request_bytes, above the connection's 1 MiB: " + large);
            assertEquals("received 2500000\n", large.body);
            assertEquals(2, proxy.counter("http.ingress.downstream_rq_too_large"));
        } finally {
            Files.deleteIfExists(small);
            Files.deleteIfExists(big);
            Files.deleteIfExists(huge);
        }
    }

    /** A decompressor before the buffer filter: the buffer counts (and limits) the decompressed body. */
    @Test
    void theLimitAppliesToWhatEarlierFiltersPassOn() throws Exception {
        Path gz = Files.createTempFile("body", ".gz");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter("envoy.filters.http.decompressor", Bootstraps.typed(
                             "envoy.extensions.filters.http.decompressor.v3.Decompressor",
                             "decompressor_library: { name: gz, typed_config: " + Bootstraps.typed(
                                     "envoy.extensions.compression.gzip.decompressor.v3.Gzip", "") + " }"))
                     .httpFilter(BUFFER, buffer(100_000))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(1)) {
            Files.write(gz, io.jmesh.proxy.filter.compression.Codecs.compress("gzip",
                    io.jmesh.proxy.filter.compression.Codecs.text(100_000)));
            Curl.Result ok = Curl.run("-H", "Content-Encoding: gzip", "--data-binary", "@" + gz, proxy.url("/sink"));
            assertEquals("received 100000\n", ok.body, ok.toString());
            Files.write(gz, io.jmesh.proxy.filter.compression.Codecs.compress("gzip",
                    io.jmesh.proxy.filter.compression.Codecs.text(100_001)));
            Curl.Result over = Curl.run("-H", "Content-Encoding: gzip", "--data-binary", "@" + gz, proxy.url("/sink"));
            assertEquals(413, over.status, "a few KiB compressed, 100,001 bytes decompressed: " + over);
        } finally {
            Files.deleteIfExists(gz);
        }
    }

    @Test
    void maxRequestBytesIsRequired() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(BUFFER, Bootstraps.typed("envoy.extensions.filters.http.buffer.v3.Buffer", ""))
                .route("/", "backend").cluster("backend", 1).start(1).close());
        assertTrue(e.getMessage().endsWith(
                "http_filters[0].typed_config.max_request_bytes: unset (expected: a number of bytes above 0)"),
                e.getMessage());
    }
}

package io.jmesh.proxy.filter.decompressor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.compression.Codecs;
import io.jmesh.proxy.filter.compression.CompressionBackend;
import io.jmesh.proxy.filter.compression.RawCurl;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * {@code envoy.filters.http.decompressor} through a real proxy with gzip, brotli and zstd decompressors: request
 * bodies compressed by the real libraries reach the upstream decompressed, compressed responses reach curl
 * decompressed, and the encoding is advertised upstream.
 */
class DecompressorFilterTest {

    static final String DECOMPRESSOR = "envoy.filters.http.decompressor";
    static final String TYPE = "envoy.extensions.filters.http.decompressor.v3.Decompressor";

    static CompressionBackend backend;
    static ProxyFixture proxy;

    static String filter(String name, String type) {
        return Bootstraps.typed(TYPE, "decompressor_library: { name: " + name + ", typed_config: "
                + Bootstraps.typed("envoy.extensions.compression." + type, "") + " }");
    }

    @BeforeAll
    static void start() throws Exception {
        backend = CompressionBackend.start();
        proxy = Bootstraps.http()
                .httpFilter(DECOMPRESSOR, filter("gz", "gzip.decompressor.v3.Gzip"))
                .httpFilter(DECOMPRESSOR, filter("br", "brotli.decompressor.v3.Brotli"))
                .httpFilter(DECOMPRESSOR, filter("zs", "zstd.decompressor.v3.Zstd"))
                .route("/", "backend")
                .cluster("backend", backend.port())
                .start(2);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void compressedRequestBodiesReachTheUpstreamDecompressed() throws Exception {
        byte[] text = Codecs.text(300_000);
        for (String enc : new String[] {"gzip", "br", "zstd"}) {
            Path file = Files.createTempFile("body", "." + enc);
            try {
                Files.write(file, Codecs.compress(enc, text));
                for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
                    RawCurl.Result r = RawCurl.run(version, "-X", "POST", "-H", "Content-Encoding: " + enc,
                            "--data-binary", "@" + file, proxy.url("/echo"));
                    assertEquals(200, r.status(), r.stderr());
                    assertEquals("null", r.header("x-seen-content-encoding"), enc + ": the encoding is removed");
                    // the compressed length went; the backend's aggregator counts what arrived
                    assertEquals("300000", r.header("x-seen-content-length"));
                    assertArrayEquals(text, r.body(), enc + " " + version);
                }
            } finally {
                Files.deleteIfExists(file);
            }
        }
        assertEquals(2, proxy.counter("http.ingress.decompressor.zs.zstd.request.decompressed"));
        assertEquals(600_000, proxy.counter("http.ingress.decompressor.br.brotli.request.total_uncompressed_bytes"));
    }

    @Test
    void compressedResponsesReachTheClientDecompressedAndTheEncodingsAreAdvertised() throws Exception {
        for (String enc : new String[] {"gzip", "br", "zstd"}) {
            RawCurl.Result r = RawCurl.run(proxy.url("/encoded/" + enc + "/100000"));
            assertEquals(200, r.status(), r.stderr());
            assertNull(r.header("content-encoding"), enc);
            assertNull(r.header("content-length"), enc);
            assertArrayEquals(Codecs.text(100_000), r.body(), enc);
        }
        RawCurl.Result echo = RawCurl.run("-H", "Accept-Encoding: identity", proxy.url("/echo"));
        assertEquals("identity,gzip,br,zstd", echo.header("x-seen-accept-encoding"));
        assertTrue(proxy.counter("http.ingress.decompressor.gz.gzip.response.not_decompressed") > 0);
    }

    @Test
    void aCorruptBodyResetsTheStream() throws Exception {
        Path file = Files.createTempFile("body", ".gz");
        try {
            Files.write(file, Codecs.text(5000)); // not gzip
            RawCurl.Result r = RawCurl.run("--http2-prior-knowledge", "-X", "POST", "-H", "Content-Encoding: gzip",
                    "--data-binary", "@" + file, proxy.url("/echo"));
            assertNotEquals(200, r.status(), "a corrupt gzip body does not reach the upstream as if it were fine");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void unsupportedOptionsAreRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(DECOMPRESSOR, Bootstraps.typed(TYPE, "decompressor_library: { name: zs, typed_config: "
                        + Bootstraps.typed("envoy.extensions.compression.zstd.decompressor.v3.Zstd",
                        "dictionaries: [ { inline_string: abc } ]") + " }"))
                .route("/", "backend").cluster("backend", 1).start(1).close());
        assertTrue(e.getMessage().contains("decompressor_library.typed_config.dictionaries: 1 (expected: none"),
                e.getMessage());
    }
}

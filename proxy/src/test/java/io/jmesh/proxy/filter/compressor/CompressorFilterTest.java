package io.jmesh.proxy.filter.compressor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.jmesh.proxy.filter.compression.Codecs;
import io.jmesh.proxy.filter.compression.CompressionBackend;
import io.jmesh.proxy.filter.compression.RawCurl;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * {@code envoy.filters.http.compressor} through a real proxy, with gzip, brotli and zstd filters in one chain (as
 * Envoy allows): real curl ({@code --compressed}) and java.net.http as clients, the bodies checked with the real
 * libraries (java.util.zip, brotli4j, zstd-jni), over HTTP/1.1 and HTTP/2.
 */
class CompressorFilterTest {

    static final String COMPRESSOR = "envoy.filters.http.compressor";
    static final String TYPE = "envoy.extensions.filters.http.compressor.v3.Compressor";

    static CompressionBackend backend;
    static ProxyFixture proxy;

    static String library(String name, String type, String fields) {
        return "compressor_library: { name: " + name + ", typed_config: "
                + Bootstraps.typed("envoy.extensions.compression." + type, fields) + " }";
    }

    @BeforeAll
    static void start() throws Exception {
        backend = CompressionBackend.start();
        String response = "response_direction_config: { disable_on_etag_header: false,"
                + " common_config: { min_content_length: 100 } }";
        proxy = Bootstraps.http()
                .httpFilter(COMPRESSOR, Bootstraps.typed(TYPE, response + ", "
                        + library("gz", "gzip.compressor.v3.Gzip", "compression_level: BEST_SPEED, window_bits: 12")
                        + ", request_direction_config: { common_config: { min_content_length: 100 } }"))
                .httpFilter(COMPRESSOR, Bootstraps.typed(TYPE, response + ", "
                        + library("br", "brotli.compressor.v3.Brotli", "quality: 4")))
                .httpFilter(COMPRESSOR, Bootstraps.typed(TYPE, response + ", "
                        + library("zs", "zstd.compressor.v3.Zstd", "compression_level: 3, enable_checksum: true")))
                .routeYaml("{ match: { prefix: \"/off/\" }, route: { cluster: backend, prefix_rewrite: \"/\" },"
                        + " typed_per_filter_config: { " + COMPRESSOR + ": " + Bootstraps.typed(
                        "envoy.extensions.filters.http.compressor.v3.CompressorPerRoute", "disabled: true") + " } }")
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

    private static String stat(String lib, String name) {
        return "http.ingress.compressor." + lib + "." + name;
    }

    @Test
    void curlCompressedGetsGzipOverHttp1AndHttp2() throws Exception {
        byte[] text = Codecs.text(100_000);
        for (String[] version : new String[][] {{"--http1.1"}, {"--http2-prior-knowledge"}}) {
            // curl --compressed offers "deflate, gzip, br, zstd": gzip is the first one offered that a filter has.
            RawCurl.Result r = RawCurl.run(version[0], "--compressed", proxy.url("/text/100000"));
            assertEquals(200, r.status(), r.stderr());
            assertEquals("gzip", r.header("content-encoding"));
            assertEquals("Accept-Encoding", r.header("vary"));
            assertNull(r.header("content-length"));
            assertArrayEquals(text, r.body(), "curl decoded what the proxy sent");
        }
    }

    @Test
    void eachLibraryProducesWhatItsReferenceDecodes() throws Exception {
        byte[] text = Codecs.text(200_000);
        for (String enc : new String[] {"gzip", "br", "zstd"}) {
            RawCurl.Result r = RawCurl.run("-H", "Accept-Encoding: " + enc, proxy.url("/text/200000"));
            assertEquals(200, r.status(), r.stderr());
            assertEquals(enc, r.header("content-encoding"));
            assertArrayEquals(text, Codecs.decompress(enc, r.body()), enc);
            assertEquals(true, r.body().length < text.length / 4, enc + " compresses the text: " + r.body().length);
        }
        RawCurl.Result fixed = RawCurl.run("--http2-prior-knowledge", "-H", "Accept-Encoding: zstd",
                proxy.url("/fixed/5000"));
        assertEquals("zstd", fixed.header("content-encoding"));
        assertNull(fixed.header("content-length"), "content-length is removed");
        assertArrayEquals(Codecs.text(5000), Codecs.decompress("zstd", fixed.body()));
    }

    @Test
    void acceptEncodingIsNegotiatedWithQValuesAsEnvoy() throws Exception {
        long identity = proxy.counter(stat("gz", "gzip.response.header_identity"));
        long notValid = proxy.counter(stat("gz", "gzip.response.header_not_valid"));
        long gzWildcard = proxy.counter(stat("gz", "gzip.response.header_wildcard"));
        long brWildcard = proxy.counter(stat("br", "brotli.response.header_wildcard"));
        long noHeader = proxy.counter(stat("gz", "gzip.response.no_accept_header"));
        assertEquals("br", encodingFor("gzip;q=0.5, br;q=0.8, zstd;q=0.1"));
        assertEquals("zstd", encodingFor("identity;q=0.2, zstd"));
        assertEquals("zstd", encodingFor("zstd;q=0.9, gzip;q=0.9"), "a tie goes to the first listed");
        // "*" picks the first filter of the chain that is not ruled out with q=0
        assertEquals("gzip", encodingFor("*"));
        assertEquals("br", encodingFor("gzip;q=0, *"));
        assertNull(encodingFor("identity"));
        assertNull(encodingFor("deflate"));
        assertNull(encodingFor("gzip;q=0, br;q=0, zstd;q=0"));
        assertNull(encodingFor(null));
        assertEquals(identity + 1, proxy.counter(stat("gz", "gzip.response.header_identity")));
        assertEquals(notValid + 2, proxy.counter(stat("gz", "gzip.response.header_not_valid")));
        assertEquals(gzWildcard + 1, proxy.counter(stat("gz", "gzip.response.header_wildcard")));
        assertEquals(brWildcard + 1, proxy.counter(stat("br", "brotli.response.header_wildcard")));
        assertEquals(noHeader + 1, proxy.counter(stat("gz", "gzip.response.no_accept_header")));
    }

    /** The content-encoding of {@code /fixed/3000} fetched with this accept-encoding (null: no header sent). */
    private static String encodingFor(String acceptEncoding) throws Exception {
        RawCurl.Result r = acceptEncoding == null
                ? RawCurl.run(proxy.url("/fixed/3000"))
                : RawCurl.run("-H", "Accept-Encoding: " + acceptEncoding, proxy.url("/fixed/3000"));
        assertEquals(200, r.status());
        assertEquals("Accept-Encoding", r.header("vary"), "vary on compressible responses, compressed or not");
        String enc = r.header("content-encoding");
        assertArrayEquals(Codecs.text(3000), enc == null ? r.body() : Codecs.decompress(enc, r.body()));
        return enc;
    }

    @Test
    void responsesThatMustNotBeCompressedPassUntouched() throws Exception {
        long small = proxy.counter(stat("gz", "gzip.response.content_length_too_small"));
        RawCurl.Result tiny = RawCurl.run("-H", "Accept-Encoding: gzip", proxy.url("/fixed/99"));
        assertNull(tiny.header("content-encoding"));
        assertEquals("99", tiny.header("content-length"));
        assertNull(tiny.header("vary"));
        assertEquals(small + 1, proxy.counter(stat("gz", "gzip.response.content_length_too_small")));

        RawCurl.Result octet = RawCurl.run("-H", "Accept-Encoding: gzip", proxy.url("/octet/5000"));
        assertNull(octet.header("content-encoding"), "application/octet-stream is not in the default types");
        assertArrayEquals(Codecs.text(5000), octet.body());

        RawCurl.Result noTransform = RawCurl.run("-H", "Accept-Encoding: gzip", proxy.url("/notransform/5000"));
        assertNull(noTransform.header("content-encoding"), "cache-control: no-transform");

        RawCurl.Result already = RawCurl.run("-H", "Accept-Encoding: gzip, br", proxy.url("/encoded/br/5000"));
        assertEquals("br", already.header("content-encoding"), "an encoded response is not encoded again");
        assertArrayEquals(Codecs.text(5000), Codecs.decompress("br", already.body()));

        RawCurl.Result etag = RawCurl.run("-H", "Accept-Encoding: gzip", proxy.url("/etag/5000"));
        assertEquals("gzip", etag.header("content-encoding"));
        assertEquals("W/\"v1\"", etag.header("etag"), "a strong etag becomes weak once the body is compressed");

        RawCurl.Result disabled = RawCurl.run("-H", "Accept-Encoding: gzip", proxy.url("/off/fixed/5000"));
        assertEquals(200, disabled.status());
        assertNull(disabled.header("content-encoding"), "CompressorPerRoute disabled");
        assertEquals("5000", disabled.header("content-length"));
    }

    @Test
    void statsCountCompressedBytes() throws Exception {
        long compressed = proxy.counter(stat("zs", "zstd.response.compressed"));
        long in = proxy.counter(stat("zs", "zstd.response.total_uncompressed_bytes"));
        long out = proxy.counter(stat("zs", "zstd.response.total_compressed_bytes"));
        long used = proxy.counter(stat("zs", "zstd.response.header_compressor_used"));
        long shadowed = proxy.counter(stat("zs", "zstd.response.header_compressor_overshadowed"));
        RawCurl.Result r = RawCurl.run("-H", "Accept-Encoding: zstd", proxy.url("/text/64000"));
        assertEquals("zstd", r.header("content-encoding"));
        Poll.until(() -> proxy.counter(stat("zs", "zstd.response.total_uncompressed_bytes")) == in + 64000,
                "64000 bytes counted in");
        assertEquals(compressed + 1, proxy.counter(stat("zs", "zstd.response.compressed")));
        assertEquals(out + r.body().length, proxy.counter(stat("zs", "zstd.response.total_compressed_bytes")));
        assertEquals(used + 1, proxy.counter(stat("zs", "zstd.response.header_compressor_used")));
        // Encoder filters run in reverse order: zstd's sees a gzip choice first and leaves it to the gzip filter.
        assertEquals("gzip", RawCurl.run("-H", "Accept-Encoding: gzip", proxy.url("/text/1000")).header("content-encoding"));
        assertEquals(shadowed + 1, proxy.counter(stat("zs", "zstd.response.header_compressor_overshadowed")));
    }

    @Test
    @Timeout(60) // a hang guard: without streaming the first half never arrives before the second is released
    void bodiesAreCompressedAsTheyStream() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(proxy.url("/hold/20000")))
                .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals("gzip", r.headers().firstValue("content-encoding").orElse(null));
        try (InputStream in = Codecs.input("gzip", r.body())) {
            byte[] first = in.readNBytes(20000); // only the first half exists upstream so far
            assertArrayEquals(new String(Codecs.text(40000), StandardCharsets.US_ASCII).substring(0, 20000)
                    .getBytes(StandardCharsets.US_ASCII), first);
            backend.release();
            byte[] rest = in.readAllBytes();
            assertEquals(20000, rest.length);
        }
    }

    @Test
    void requestBodiesAreCompressedWhenConfigured() throws Exception {
        byte[] text = Codecs.text(10_000);
        long requests = proxy.counter(stat("gz", "gzip.request.compressed"));
        java.nio.file.Path file = java.nio.file.Files.createTempFile("body", ".txt");
        try {
            java.nio.file.Files.write(file, text);
            RawCurl.Result r = RawCurl.run("-X", "POST", "-H", "Content-Type: text/plain", "--data-binary",
                    "@" + file, proxy.url("/echo"));
            assertEquals(200, r.status(), r.stderr());
            assertEquals("gzip", r.header("x-seen-content-encoding"), "the gzip filter compresses requests");
            assertArrayEquals(text, Codecs.decompress("gzip", r.body()), "the upstream got a gzip body");
            assertEquals(requests + 1, proxy.counter(stat("gz", "gzip.request.compressed")));
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}

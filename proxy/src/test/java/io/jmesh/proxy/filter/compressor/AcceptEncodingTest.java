package io.jmesh.proxy.filter.compressor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.filter.compressor.AcceptEncoding.Decision;
import io.jmesh.proxy.filter.compressor.AcceptEncoding.Kind;

/** The accept-encoding choice, on the cases of Envoy's compressor filter docs and tests. */
class AcceptEncodingTest {

    private static Decision choose(String header, String... registered) {
        return AcceptEncoding.choose(header, List.of(registered));
    }

    @Test
    void choosesAsEnvoy() {
        assertEquals(new Decision("gzip", Kind.VALID_COMPRESSOR), choose("gzip", "gzip"));
        assertEquals(new Decision("gzip", Kind.VALID_COMPRESSOR), choose(" GZIP ; q=1 ", "gzip"));
        assertEquals(new Decision("identity", Kind.NOT_VALID), choose("gzip;q=0,*;q=1", "gzip"),
                "gzip ruled out, and * has nothing left");
        assertEquals(new Decision("gzip", Kind.VALID_COMPRESSOR), choose("*;q=0,gzip;q=1", "gzip"));
        assertEquals(new Decision("gzip", Kind.WILDCARD), choose("*", "gzip", "br"));
        assertEquals(new Decision("br", Kind.WILDCARD), choose("*", "br", "gzip"), "the first registered");
        assertEquals(new Decision("identity", Kind.IDENTITY), choose("identity, gzip;q=0.5", "gzip"));
        assertEquals(new Decision("gzip", Kind.VALID_COMPRESSOR), choose("identity;q=0.5, gzip", "gzip"));
        assertEquals(new Decision("identity", Kind.NOT_VALID), choose("deflate", "gzip"));
        assertEquals(new Decision("identity", Kind.NOT_VALID), choose("", "gzip"));
        assertEquals(new Decision("identity", Kind.NOT_VALID), choose("identity;q=0", "gzip"));
        assertEquals(new Decision("br", Kind.VALID_COMPRESSOR), choose("gzip;q=0.2, br;q=0.8", "gzip", "br"));
        assertEquals(new Decision("gzip", Kind.VALID_COMPRESSOR), choose("gzip;q=0.8, br;q=0.8", "br", "gzip"),
                "a tie goes to the first listed in the header");
        assertEquals(new Decision("gzip", Kind.VALID_COMPRESSOR), choose("br;q=x, gzip", "br", "gzip"),
                "an entry whose q-value does not parse is dropped");
    }

    @Test
    void chooseFirstFiltersComeFirst() {
        AcceptEncoding.Registry r = new AcceptEncoding.Registry();
        r.register("gzip", false);
        r.register("br", true);
        r.register("gzip", false);
        assertEquals(List.of("br", "gzip"), r.ordered());
        assertEquals(new Decision("br", Kind.WILDCARD), AcceptEncoding.choose("*", r.ordered()));
    }
}

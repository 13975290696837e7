package io.jmesh.security.spiffe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SpiffeIdTest {

    @Test
    void parsesAndFormatsIstioIdentity() {
        SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/reviews");
        assertEquals(new SpiffeId("cluster.local", "default", "reviews"), id);
        assertEquals("spiffe://cluster.local/ns/default/sa/reviews", id.toString());
    }

    @Test
    void refusesOtherShapesNamingTheInput() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SpiffeId.parse("spiffe://cluster.local/ns/default/reviews"));
        assertEquals("SPIFFE ID: spiffe://cluster.local/ns/default/reviews "
                + "(expected: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)", e.getMessage());
        assertFalse(SpiffeId.isValid("https://cluster.local/ns/a/sa/b"));
        assertFalse(SpiffeId.isValid("spiffe://Cluster.Local/ns/a/sa/b"));
        assertFalse(SpiffeId.isValid("spiffe://cluster.local/ns/../sa/b"));
        assertFalse(SpiffeId.isValid("spiffe://cluster.local/ns/a/sa/"));
        assertFalse(SpiffeId.isValid("spiffe://cluster.local/ns/a/sa/b/extra"));
        assertTrue(SpiffeId.isValid("spiffe://td-1.example_org/ns/a.b/sa/c-d_e"));
    }

    @Test
    void constructorNamesThePart() {
        var e = assertThrows(IllegalArgumentException.class, () -> new SpiffeId("cluster.local", "", "sa"));
        assertEquals("namespace: \"\" (expected: letters, digits, '.', '-', '_')", e.getMessage());
    }
}

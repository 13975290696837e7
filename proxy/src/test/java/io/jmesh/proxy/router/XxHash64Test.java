package io.jmesh.proxy.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class XxHash64Test {

    @Test
    void knownVectors() {
        // Reference values of XXH64 with seed 0.
        assertEquals(0xEF46DB3751D8E999L, XxHash64.hash(""));
        assertEquals(0xD24EC4F1A98C6E5BL, XxHash64.hash("a"));
        assertEquals(0x44BC2CF5AD770999L, XxHash64.hash("abc"));
    }

    @Test
    void longInputsUseAllLanes() {
        final String s = "0123456789abcdef0123456789abcdef0123456789abcdef!";
        assertEquals(XxHash64.hash(s), XxHash64.hash(new String(s)));
        assertNotEquals(XxHash64.hash(s), XxHash64.hash(s.substring(1)));
        assertNotEquals(XxHash64.hash(s), XxHash64.hash(s.replace('!', '?')));
    }
}

package io.jmesh.proxy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class XxHash64Test {

    @Test
    void knownVectors() {
        assertEquals(0xEF46DB3751D8E999L, XxHash64.hash("", 0));
        assertEquals(0x44BC2CF5AD770999L, XxHash64.hash("abc", 0));
        // 39 bytes: exercises the 32-byte stripe loop, the 8-byte and the 1-byte tails.
        assertEquals(0xFBCEA83C8A378BF1L, XxHash64.hash("Nobody inspects the spammish repetition", 0));
    }
}

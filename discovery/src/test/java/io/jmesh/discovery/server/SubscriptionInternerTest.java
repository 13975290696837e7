package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class SubscriptionInternerTest {

    @Test
    void equalSubscriptionsShareOneImmutableSet() {
        SubscriptionInterner interner = new SubscriptionInterner();
        Set<String> a = interner.intern(new HashSet<>(Set.of("outbound|9080||a", "outbound|9080||b")));
        Set<String> b = interner.intern(new TreeSet<>(Set.of("outbound|9080||b", "outbound|9080||a")));
        assertSame(a, b);
        assertEquals(Set.of("outbound|9080||a", "outbound|9080||b"), a);
        assertThrows(UnsupportedOperationException.class, () -> a.add("x"));
        assertNotSame(a, interner.intern(Set.of("outbound|9080||a")));
        assertEquals(2, interner.size());
    }

    @Test
    void startsOverWhenFullWithoutLosingContent() {
        SubscriptionInterner interner = new SubscriptionInterner();
        for (int i = 0; i < SubscriptionInterner.MAX_SIZE; i++) {
            interner.intern(Set.of("n" + i));
        }
        assertEquals(SubscriptionInterner.MAX_SIZE, interner.size());
        assertEquals(Set.of("last"), interner.intern(Set.of("last")));
        assertEquals(1, interner.size());
    }
}

package io.jmesh.discovery.server;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shares equal subscriptions (sets of resource names) between connections: 2,000 sidecars that
 * subscribe to the same 1,400 EDS clusters hold one immutable set instead of 2,000 copies of it.
 * At most {@link #MAX_SIZE} distinct sets are remembered; past that the table starts over, which
 * only costs sharing, never correctness. Thread-safe.
 */
final class SubscriptionInterner {

    /** Distinct subscriptions remembered before the table is cleared. */
    static final int MAX_SIZE = 4096;

    private final Map<Set<String>, Set<String>> sets = new ConcurrentHashMap<>();

    /** Returns an immutable set equal to {@code names}, the same instance for equal sets while remembered. */
    Set<String> intern(Set<String> names) {
        if (names.isEmpty()) {
            return Set.of();
        }
        Set<String> known = sets.get(names);
        if (known != null) {
            return known;
        }
        if (sets.size() >= MAX_SIZE) {
            sets.clear();
        }
        Set<String> copy = Set.copyOf(names);
        known = sets.putIfAbsent(copy, copy);
        return known == null ? copy : known;
    }

    /** Returns how many distinct subscriptions are remembered. */
    int size() {
        return sets.size();
    }
}

package io.jmesh.proxy.listener;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;

/**
 * Envoy's filter chain selection, for the criteria this proxy can observe: destination port, server name
 * (SNI), transport protocol ({@code tls} or {@code raw_buffer}) and application protocols (ALPN). Criteria are
 * applied in Envoy's order; at each step, if some remaining chains name the connection's value, only they stay,
 * otherwise only the chains that do not constrain that criterion stay. Server names prefer an exact match over
 * the longest matching {@code *.suffix} wildcard. Immutable.
 */
final class FilterChainMatcher<T> {

    /** A chain and its match. */
    record Entry<T>(FilterChainMatch match, T chain) {}

    /** What is known about a new connection. */
    record Connection(int destinationPort, String serverName, String transportProtocol, List<String> alpn) {}

    private final List<Entry<T>> entries;
    private final T defaultChain;

    FilterChainMatcher(List<Entry<T>> entries, T defaultChain) {
        this.entries = List.copyOf(entries);
        this.defaultChain = defaultChain;
    }

    /** The chain for a connection, the default chain, or null (Envoy closes the connection). */
    T select(Connection c) {
        List<Entry<T>> cands = new ArrayList<>(entries);
        cands = narrow(cands, m -> m.hasDestinationPort(),
                m -> m.getDestinationPort().getValue() == c.destinationPort());
        cands = narrowServerName(cands, c.serverName());
        cands = narrow(cands, m -> !m.getTransportProtocol().isEmpty(),
                m -> m.getTransportProtocol().equals(c.transportProtocol()));
        cands = narrow(cands, m -> m.getApplicationProtocolsCount() > 0,
                m -> m.getApplicationProtocolsList().stream().anyMatch(c.alpn()::contains));
        return cands.isEmpty() ? defaultChain : cands.get(0).chain();
    }

    private static <T> List<Entry<T>> narrow(List<Entry<T>> cands, Predicate<FilterChainMatch> constrains,
                                             Predicate<FilterChainMatch> matches) {
        List<Entry<T>> matching = new ArrayList<>();
        List<Entry<T>> open = new ArrayList<>();
        for (Entry<T> e : cands) {
            if (!constrains.test(e.match())) {
                open.add(e);
            } else if (matches.test(e.match())) {
                matching.add(e);
            }
        }
        return matching.isEmpty() ? open : matching;
    }

    private static <T> List<Entry<T>> narrowServerName(List<Entry<T>> cands, String sni) {
        List<Entry<T>> open = new ArrayList<>();
        List<Entry<T>> best = new ArrayList<>();
        int bestLength = -1; // Integer.MAX_VALUE for exact
        for (Entry<T> e : cands) {
            List<String> names = e.match().getServerNamesList();
            if (names.isEmpty()) {
                open.add(e);
                continue;
            }
            if (sni == null) {
                continue;
            }
            for (String raw : names) {
                String n = raw.toLowerCase(Locale.ROOT);
                int score = -1;
                if (n.equals(sni)) {
                    score = Integer.MAX_VALUE;
                } else if (n.startsWith("*.") && sni.endsWith(n.substring(1))) {
                    score = n.length();
                }
                if (score > bestLength) {
                    bestLength = score;
                    best.clear();
                    best.add(e);
                } else if (score >= 0 && score == bestLength && !best.contains(e)) {
                    best.add(e);
                }
            }
        }
        return best.isEmpty() ? open : best;
    }
}

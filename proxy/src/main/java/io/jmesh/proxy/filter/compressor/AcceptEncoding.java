package io.jmesh.proxy.filter.compressor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Chooses the response encoding from {@code accept-encoding} as Envoy's compressor filter does: the encodings of
 * the compressor filters of the stream (those with {@code choose_first} ahead, then in chain order), plus
 * {@code identity} and {@code *}; the highest q-value wins, the first listed on a tie; {@code q=0} rules an
 * encoding out; {@code *} picks the first registered compressor not ruled out.
 */
final class AcceptEncoding {

    /** The outcome, with the stat it counts. */
    enum Kind { VALID_COMPRESSOR, WILDCARD, IDENTITY, NOT_VALID }

    /** The chosen encoding and why. */
    record Decision(String encoding, Kind kind) {}

    /** The filter-state key under which the compressor filters of a stream register their encodings. */
    static final String REGISTRY_KEY = "envoy.filters.http.compressor.encodings";

    private AcceptEncoding() {}

    /** The encodings registered on one stream, in choice order; one per stream, on its event loop. */
    static final class Registry {
        private final List<String> first = new ArrayList<>(1);
        private final List<String> rest = new ArrayList<>(2);

        void register(String encoding, boolean chooseFirst) {
            if (!first.contains(encoding) && !rest.contains(encoding)) {
                (chooseFirst ? first : rest).add(encoding);
            }
        }

        List<String> ordered() {
            List<String> all = new ArrayList<>(first);
            all.addAll(rest);
            return all;
        }
    }

    /** Decides for {@code header} (the request's {@code accept-encoding}, not null) and the registered encodings. */
    static Decision choose(String header, List<String> registered) {
        Map<String, Integer> allowed = new LinkedHashMap<>();
        for (int i = 0; i < registered.size(); i++) {
            allowed.put(registered.get(i), i);
        }
        List<String> tokens = new ArrayList<>();
        List<Float> qs = new ArrayList<>();
        for (String part : header.split(",")) {
            String token = part;
            float q = 1;
            int semi = part.indexOf(';');
            if (semi >= 0) {
                token = part.substring(0, semi);
                String params = part.substring(semi + 1);
                int eq = params.indexOf('=');
                if (eq >= 0 && params.substring(0, eq).trim().equalsIgnoreCase("q")) {
                    try {
                        q = Float.parseFloat(params.substring(eq + 1).trim());
                    } catch (NumberFormatException e) {
                        continue; // as Envoy: an unparsable q-value drops the entry
                    }
                    if (!Float.isFinite(q)) {
                        continue;
                    }
                }
            }
            token = token.trim().toLowerCase(Locale.ROOT);
            if (token.isEmpty()) {
                continue;
            }
            tokens.add(token);
            qs.add(q);
            if (q <= 0) {
                allowed.remove(token);
            }
        }
        if (tokens.isEmpty() || allowed.isEmpty()) {
            return new Decision("identity", Kind.NOT_VALID);
        }
        String choice = "identity";
        float best = 0;
        for (int i = 0; i < tokens.size(); i++) {
            String t = tokens.get(i);
            float q = qs.get(i);
            if (q > best && (allowed.containsKey(t) || t.equals("identity") || t.equals("*"))) {
                choice = t;
                best = q;
            }
        }
        if (best <= 0) {
            return new Decision("identity", Kind.NOT_VALID);
        }
        if (choice.equals("identity")) {
            return new Decision("identity", Kind.IDENTITY);
        }
        if (choice.equals("*")) {
            return new Decision(allowed.keySet().iterator().next(), Kind.WILDCARD);
        }
        return new Decision(choice, Kind.VALID_COMPRESSOR);
    }
}

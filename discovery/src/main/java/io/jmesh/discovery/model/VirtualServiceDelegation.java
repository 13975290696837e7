package io.jmesh.discovery.model;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigValidator;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.config.VirtualService.HTTPMatchRequest;
import io.jmesh.discovery.config.VirtualService.HTTPRoute;
import io.jmesh.discovery.config.VirtualService.StringMatch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Istio's VirtualService delegation: a root VirtualService's HTTP route with {@code delegate: {name, namespace}} is
 * replaced by the HTTP routes of that delegate VirtualService (one without {@code hosts}), merged with the root's
 * route as istiod merges them ({@code pilot/pkg/model/virtualservice.go}):
 *
 * <ul>
 *   <li>Only one level: a delegate's own {@code delegate} is refused by validation. A delegate that does not exist,
 *       has {@code hosts} (is not a delegate), or is not exported to the root's namespace drops the root's route.</li>
 *   <li>Matches: with no root matches the delegate's stand; with no delegate matches the root's stand; otherwise each
 *       delegate match must fit inside (not conflict with) some root match, and is AND'ed with every root match it
 *       fits; a delegate route with a match that fits none is dropped (a conflict). A delegate's uri, scheme, method
 *       and authority must be exact/prefix matches within the root's (a regex on either side conflicts);
 *       {@code ignoreUriCase} must be equal; ports, source namespace, source labels and gateways must agree.</li>
 *   <li>Everything else: the delegate's value if set, else the root's ({@code rewrite}, {@code timeout},
 *       {@code retries}, {@code fault}, {@code mirror}, {@code mirrorPercentage}, {@code corsPolicy},
 *       {@code headers}, {@code directResponse}); names are joined as {@code root-delegate}.</li>
 *   <li>Host names in a delegate resolve in the delegate's namespace (short destination hosts, match gateways).</li>
 * </ul>
 *
 * Stateless.
 */
public final class VirtualServiceDelegation {

    private VirtualServiceDelegation() {}

    /**
     * Returns {@code virtualServices} with delegates left out and each root's delegating routes replaced by the
     * merged delegate routes, in the same order; objects without delegation are returned as they are.
     * {@code defaultExportTo} is the mesh's {@code defaultVirtualServiceExportTo} (empty means {@code *});
     * each route dropped is described to {@code problems}.
     */
    public static List<Config<VirtualService>> merge(List<Config<VirtualService>> virtualServices,
                                                     List<String> defaultExportTo, Consumer<String> problems) {
        Map<String, Config<VirtualService>> delegates = new HashMap<>();
        for (Config<VirtualService> vs : virtualServices) {
            if (vs.spec().isDelegate()) {
                delegates.putIfAbsent(vs.meta().namespace() + '/' + vs.meta().name(), vs);
            }
        }
        List<Config<VirtualService>> out = new ArrayList<>(virtualServices.size());
        for (Config<VirtualService> vs : virtualServices) {
            if (vs.spec().isDelegate()) {
                continue;
            }
            if (!vs.spec().isRoot()) {
                out.add(vs);
                continue;
            }
            String rootNs = vs.meta().namespace();
            List<HTTPRoute> merged = new ArrayList<>();
            for (int i = 0; i < vs.spec().http().size(); i++) {
                HTTPRoute r = vs.spec().http().get(i);
                if (r.delegate() == null) {
                    merged.add(r);
                    continue;
                }
                String ns = r.delegate().namespace() == null || r.delegate().namespace().isEmpty()
                        ? rootNs : r.delegate().namespace();
                String key = ns + '/' + r.delegate().name();
                String where = vs.meta().key() + " spec.http[" + i + "].delegate";
                Config<VirtualService> d = delegates.get(key);
                if (d == null) {
                    problems.accept(where + ": " + key + " (expected: a VirtualService without hosts; not found, "
                            + "the route is dropped)");
                    continue;
                }
                List<String> exportTo = d.spec().exportTo().isEmpty() ? defaultExportTo : d.spec().exportTo();
                if (!ConfigValidator.exportedTo(exportTo, ns, rootNs)) {
                    problems.accept(where + ": " + key + " (expected: a delegate exported to " + rootNs
                            + "; its exportTo is " + exportTo + ", the route is dropped)");
                    continue;
                }
                HTTPRoute root = qualify(r, rootNs, false);
                for (int j = 0; j < d.spec().http().size(); j++) {
                    HTTPRoute leaf = qualify(d.spec().http().get(j), ns, true);
                    HTTPRoute m = mergeRoute(root, leaf);
                    if (m == null) {
                        problems.accept(where + ": " + key + " spec.http[" + j + "] (expected: matches within the "
                                + "root route's matches; they conflict, the delegate's route is dropped)");
                    } else {
                        merged.add(m);
                    }
                }
            }
            VirtualService s = vs.spec();
            out.add(new Config<>(vs.meta(), new VirtualService(s.hosts(), s.gateways(), merged, s.tcp(), s.tls(),
                    s.exportTo())));
        }
        return out;
    }

    /**
     * Merges one root route (its {@code delegate} set) with one delegate route; returns {@code null} when their
     * matches conflict.
     */
    static HTTPRoute mergeRoute(HTTPRoute root, HTTPRoute leaf) {
        List<HTTPMatchRequest> matches = mergeMatches(root.match(), leaf.match());
        if (matches == null) {
            return null;
        }
        return new HTTPRoute(joinNames(root.name(), leaf.name()), matches, leaf.route(), leaf.redirect(),
                or(leaf.directResponse(), root.directResponse()), or(leaf.rewrite(), root.rewrite()),
                or(leaf.timeout(), root.timeout()), or(leaf.retries(), root.retries()),
                or(leaf.fault(), root.fault()), or(leaf.mirror(), root.mirror()),
                or(leaf.mirrorPercentage(), root.mirrorPercentage()), or(leaf.mirrorPercent(), root.mirrorPercent()),
                or(leaf.corsPolicy(), root.corsPolicy()), or(leaf.headers(), root.headers()), null);
    }

    /** The merged matches, or {@code null} on a conflict (a delegate match within no root match). */
    static List<HTTPMatchRequest> mergeMatches(List<HTTPMatchRequest> root, List<HTTPMatchRequest> leaf) {
        if (root.isEmpty()) {
            return leaf;
        }
        if (leaf.isEmpty()) {
            return root;
        }
        List<HTTPMatchRequest> out = new ArrayList<>();
        for (HTTPMatchRequest l : leaf) {
            boolean found = false;
            for (HTTPMatchRequest r : root) {
                if (!conflict(r, l)) {
                    out.add(mergeMatch(r, l));
                    found = true;
                }
            }
            if (!found) {
                return null;
            }
        }
        return out.isEmpty() ? null : out;
    }

    private static HTTPMatchRequest mergeMatch(HTTPMatchRequest r, HTTPMatchRequest l) {
        return new HTTPMatchRequest(joinNames(r.name(), l.name()), or(l.uri(), r.uri()), or(l.scheme(), r.scheme()),
                or(l.method(), r.method()), or(l.authority(), r.authority()), union(r.headers(), l.headers()),
                l.port() != null && l.port() != 0 ? l.port() : r.port(), union(r.sourceLabels(), l.sourceLabels()),
                l.gateways().isEmpty() ? r.gateways() : l.gateways(), union(r.queryParams(), l.queryParams()),
                l.ignoreUriCase() != null ? l.ignoreUriCase() : r.ignoreUriCase(),
                union(r.withoutHeaders(), l.withoutHeaders()),
                l.sourceNamespace() != null && !l.sourceNamespace().isEmpty() ? l.sourceNamespace()
                        : r.sourceNamespace());
    }

    /** Istio's {@code hasConflict}: whether the delegate match {@code l} is not within the root match {@code r}. */
    static boolean conflict(HTTPMatchRequest r, HTTPMatchRequest l) {
        if (stringConflict(r.uri(), l.uri()) || stringConflict(r.scheme(), l.scheme())
                || stringConflict(r.method(), l.method()) || stringConflict(r.authority(), l.authority())) {
            return true;
        }
        for (Map.Entry<String, StringMatch> e : l.headers().entrySet()) {
            if (stringConflict(r.headers().get(e.getKey()), e.getValue())) {
                return true;
            }
        }
        for (Map.Entry<String, StringMatch> e : l.withoutHeaders().entrySet()) {
            if (stringConflict(r.withoutHeaders().get(e.getKey()), e.getValue())) {
                return true;
            }
        }
        for (Map.Entry<String, StringMatch> e : l.queryParams().entrySet()) {
            if (stringConflict(r.queryParams().get(e.getKey()), e.getValue())) {
                return true;
            }
        }
        if (Boolean.TRUE.equals(r.ignoreUriCase()) != Boolean.TRUE.equals(l.ignoreUriCase())) {
            return true;
        }
        int rp = r.port() == null ? 0 : r.port();
        int lp = l.port() == null ? 0 : l.port();
        if (rp > 0 && lp > 0 && rp != lp) {
            return true;
        }
        if (r.sourceNamespace() != null && !r.sourceNamespace().isEmpty()
                && !r.sourceNamespace().equals(l.sourceNamespace())) {
            return true;
        }
        for (Map.Entry<String, String> e : l.sourceLabels().entrySet()) {
            String v = r.sourceLabels().get(e.getKey());
            if (v != null && !v.equals(e.getValue())) {
                return true;
            }
        }
        if (!r.gateways().isEmpty() && !l.gateways().isEmpty()) {
            return r.gateways().size() < l.gateways().size() || !Set.copyOf(r.gateways()).containsAll(l.gateways());
        }
        return false;
    }

    /** Istio's {@code stringMatchConflict}: whether {@code leaf} is not a subset of {@code root}. */
    static boolean stringConflict(StringMatch root, StringMatch leaf) {
        if (isUnset(root) || isUnset(leaf)) {
            return false;
        }
        if (root.regex() != null || leaf.regex() != null) {
            return true;
        }
        if (root.exact() != null) {
            return leaf.prefix() != null || !root.exact().equals(leaf.exact());
        }
        if (root.prefix() != null) {
            String l = leaf.prefix() != null ? leaf.prefix() : leaf.exact();
            return l == null || !l.startsWith(root.prefix());
        }
        return true;
    }

    private static boolean isUnset(StringMatch m) {
        return m == null || (m.exact() == null && m.prefix() == null && m.regex() == null);
    }

    /**
     * Resolves what a route names relative to its VirtualService's namespace, as istiod does before merging:
     * gateways of its matches become {@code namespace/name}; for a delegate's route, short destination and mirror
     * hosts become FQDNs (a root's keep resolving in the root's namespace).
     */
    private static HTTPRoute qualify(HTTPRoute r, String ns, boolean hosts) {
        List<HTTPMatchRequest> matches = new ArrayList<>(r.match().size());
        for (HTTPMatchRequest m : r.match()) {
            List<String> gws = new ArrayList<>(m.gateways().size());
            for (String g : m.gateways()) {
                gws.add(g.equals("mesh") || g.contains("/") ? g : ns + '/' + g);
            }
            matches.add(new HTTPMatchRequest(m.name(), m.uri(), m.scheme(), m.method(), m.authority(), m.headers(),
                    m.port(), m.sourceLabels(), gws, m.queryParams(), m.ignoreUriCase(), m.withoutHeaders(),
                    m.sourceNamespace()));
        }
        List<VirtualService.HTTPRouteDestination> route = r.route();
        VirtualService.Destination mirror = r.mirror();
        if (hosts) {
            route = new ArrayList<>(r.route().size());
            for (VirtualService.HTTPRouteDestination d : r.route()) {
                route.add(new VirtualService.HTTPRouteDestination(fqdn(d.destination(), ns), d.weight(), d.headers()));
            }
            mirror = fqdn(mirror, ns);
        }
        return new HTTPRoute(r.name(), matches, route, r.redirect(), r.directResponse(), r.rewrite(), r.timeout(),
                r.retries(), r.fault(), mirror, r.mirrorPercentage(), r.mirrorPercent(), r.corsPolicy(), r.headers(),
                r.delegate());
    }

    private static VirtualService.Destination fqdn(VirtualService.Destination d, String ns) {
        if (d == null || d.host() == null) {
            return d;
        }
        return new VirtualService.Destination(MeshSnapshot.resolveShortName(d.host(), ns), d.subset(), d.port());
    }

    private static String joinNames(String root, String leaf) {
        if (leaf == null || leaf.isEmpty()) {
            return root;
        }
        return root == null || root.isEmpty() ? leaf : root + '-' + leaf;
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }

    private static <V> Map<String, V> union(Map<String, V> root, Map<String, V> leaf) {
        if (root.isEmpty()) {
            return leaf;
        }
        Map<String, V> out = new LinkedHashMap<>(root);
        out.putAll(leaf);
        return out;
    }
}

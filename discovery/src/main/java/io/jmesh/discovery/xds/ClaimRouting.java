package io.jmesh.discovery.xds;

import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.OrMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.jmesh.discovery.config.VirtualService;

/**
 * Istio's routing on JWT claims: a VirtualService header match named {@code @request.auth.claims.<claim>}
 * ({@code .}-separated for nested claims, or {@code @request.auth.claims[a][b]}) is no header match but a
 * {@code dynamic_metadata} matcher on the verified payload, {@code envoy.filters.http.jwt_authn} /
 * {@code payload} / claim path, whose value matches when it is the string or a list holding it. Such routes match
 * on gateways, where {@link RequestAuthnFilters} has the providers clear the route cache after verification.
 */
final class ClaimRouting {

    static final String PREFIX = "@request.auth.claims";

    private ClaimRouting() {}

    /** The metadata matcher for a claim header, or null when {@code name} is an ordinary header. */
    static MetadataMatcher metadataMatcher(String name, VirtualService.StringMatch m, boolean invert) {
        List<String> claims = claims(name);
        if (claims == null) {
            return null;
        }
        MetadataMatcher.Builder b = MetadataMatcher.newBuilder().setFilter(RequestAuthnFilters.JWT_FILTER)
                .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(RequestAuthnFilters.PAYLOAD_KEY));
        for (String c : claims) {
            b.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(c));
        }
        if (Protos.isEmpty(m)) {
            b.setValue(ValueMatcher.newBuilder().setPresentMatch(true));
        } else {
            StringMatcher sm = Protos.stringMatcher(m, false);
            b.setValue(ValueMatcher.newBuilder().setOrMatch(OrMatcher.newBuilder()
                    .addValueMatchers(ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder()
                            .setOneOf(ValueMatcher.newBuilder().setStringMatch(sm))))
                    .addValueMatchers(ValueMatcher.newBuilder().setStringMatch(sm))));
        }
        return b.setInvert(invert).build();
    }

    /** The claim path of a routing header, or null. */
    static List<String> claims(String name) {
        if (!name.startsWith(PREFIX) || name.length() == PREFIX.length()) {
            return null;
        }
        String rest = name.substring(PREFIX.length());
        List<String> out = new ArrayList<>();
        if (rest.charAt(0) == '.') {
            for (String part : rest.substring(1).split("\\.", -1)) {
                if (part.isEmpty()) {
                    return null;
                }
                out.add(part);
            }
            return out;
        }
        if (rest.charAt(0) == '[' && rest.endsWith("]")) {
            for (String part : rest.substring(1, rest.length() - 1).split("\\]\\[", -1)) {
                if (part.isEmpty() || part.contains("[") || part.contains("]")) {
                    return null;
                }
                out.add(part);
            }
            return out;
        }
        return null;
    }
}

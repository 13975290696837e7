package io.jmesh.proxy.filter.rbac;

import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.type.matcher.v3.DoubleMatcher;
import io.envoyproxy.envoy.type.matcher.v3.FilterStateMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.internal.Cidr;
import io.jmesh.proxy.router.HeaderMatch;
import io.jmesh.proxy.router.StringMatch;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.StreamInfo;

/**
 * Compiles Envoy's {@code Permission} and {@code Principal} trees into {@link RbacMatcher}s, with Envoy's semantics
 * ({@code source/extensions/filters/common/rbac/matchers.cc}). Rules jmesh cannot evaluate (CEL conditions, generic
 * {@code matcher} and {@code custom} extensions, {@code sourced_metadata}) are refused by name.
 */
final class RbacMatchers {

    private RbacMatchers() {}

    @SuppressWarnings("deprecation") // Permission.metadata: deprecated for sourced_metadata, still written by istiod
    static RbacMatcher permission(Permission p, String path) throws ConfigException {
        switch (p.getRuleCase()) {
            case ANY:
                if (!p.getAny()) {
                    throw new ConfigException(path + ".any: false (expected: true)");
                }
                return RbacMatcher.ANY;
            case AND_RULES: {
                List<RbacMatcher> all = new ArrayList<>();
                for (int i = 0; i < p.getAndRules().getRulesCount(); i++) {
                    all.add(permission(p.getAndRules().getRules(i), path + ".and_rules.rules[" + i + "]"));
                }
                return and(all);
            }
            case OR_RULES: {
                List<RbacMatcher> any = new ArrayList<>();
                for (int i = 0; i < p.getOrRules().getRulesCount(); i++) {
                    any.add(permission(p.getOrRules().getRules(i), path + ".or_rules.rules[" + i + "]"));
                }
                return or(any);
            }
            case NOT_RULE:
                return not(permission(p.getNotRule(), path + ".not_rule"));
            case HEADER:
                return header(HeaderMatch.from(p.getHeader(), path + ".header"));
            case URL_PATH:
                return urlPath(p.getUrlPath(), path + ".url_path");
            case DESTINATION_IP: {
                Cidr cidr = Cidr.from(p.getDestinationIp(), path + ".destination_ip");
                return (r, c, s) -> cidr.contains(c.destinationAddress());
            }
            case DESTINATION_PORT: {
                int port = p.getDestinationPort();
                if (port > 65535) {
                    throw new ConfigException(path + ".destination_port: " + port + " (expected: <= 65535)");
                }
                return (r, c, s) -> {
                    InetSocketAddress a = c.destinationAddress();
                    return a != null && a.getPort() == port;
                };
            }
            case DESTINATION_PORT_RANGE: {
                long start = p.getDestinationPortRange().getStart();
                long end = p.getDestinationPortRange().getEnd();
                if (start >= end) {
                    throw new ConfigException(path + ".destination_port_range: [" + start + ", " + end
                                              + ") (expected: start < end)");
                }
                return (r, c, s) -> {
                    InetSocketAddress a = c.destinationAddress();
                    return a != null && a.getPort() >= start && a.getPort() < end;
                };
            }
            case METADATA:
                return metadata(p.getMetadata(), path + ".metadata");
            case REQUESTED_SERVER_NAME: {
                StringMatch m = StringMatch.from(p.getRequestedServerName(), path + ".requested_server_name");
                return (r, c, s) -> {
                    String sni = c.requestedServerName();
                    return m.matches(sni == null ? "" : sni);
                };
            }
            case MATCHER:
                throw new ConfigException(path + ".matcher: " + p.getMatcher().getName()
                                          + " (expected: a rule jmesh supports; generic matchers are not supported)");
            case URI_TEMPLATE:
                return uriTemplate(p.getUriTemplate(), path + ".uri_template");
            case SOURCED_METADATA:
                throw new ConfigException(path + ".sourced_metadata: (expected: metadata; sourced_metadata is not"
                                          + " supported)");
            default:
                throw new ConfigException(path + ".rule: null (expected: one of any, and_rules, or_rules, not_rule,"
                                          + " header, url_path, destination_ip, destination_port,"
                                          + " destination_port_range, metadata, requested_server_name)");
        }
    }

    @SuppressWarnings("deprecation") // source_ip: deprecated in Envoy, still honoured
    static RbacMatcher principal(Principal p, String path) throws ConfigException {
        switch (p.getIdentifierCase()) {
            case ANY:
                if (!p.getAny()) {
                    throw new ConfigException(path + ".any: false (expected: true)");
                }
                return RbacMatcher.ANY;
            case AND_IDS: {
                List<RbacMatcher> all = new ArrayList<>();
                for (int i = 0; i < p.getAndIds().getIdsCount(); i++) {
                    all.add(principal(p.getAndIds().getIds(i), path + ".and_ids.ids[" + i + "]"));
                }
                return and(all);
            }
            case OR_IDS: {
                List<RbacMatcher> any = new ArrayList<>();
                for (int i = 0; i < p.getOrIds().getIdsCount(); i++) {
                    any.add(principal(p.getOrIds().getIds(i), path + ".or_ids.ids[" + i + "]"));
                }
                return or(any);
            }
            case NOT_ID:
                return not(principal(p.getNotId(), path + ".not_id"));
            case AUTHENTICATED:
                return authenticated(p.getAuthenticated().hasPrincipalName()
                        ? StringMatch.from(p.getAuthenticated().getPrincipalName(),
                                           path + ".authenticated.principal_name")
                        : null);
            case SOURCE_IP: {
                Cidr cidr = Cidr.from(p.getSourceIp(), path + ".source_ip");
                return (r, c, s) -> cidr.contains(c.remoteAddress());
            }
            case DIRECT_REMOTE_IP: {
                Cidr cidr = Cidr.from(p.getDirectRemoteIp(), path + ".direct_remote_ip");
                return (r, c, s) -> cidr.contains(c.remoteAddress());
            }
            case REMOTE_IP: {
                Cidr cidr = Cidr.from(p.getRemoteIp(), path + ".remote_ip");
                return (r, c, s) -> {
                    InetSocketAddress a = s != null && s.downstreamRemoteAddress() != null
                            ? s.downstreamRemoteAddress() : c.remoteAddress();
                    return cidr.contains(a);
                };
            }
            case HEADER:
                return header(HeaderMatch.from(p.getHeader(), path + ".header"));
            case URL_PATH:
                return urlPath(p.getUrlPath(), path + ".url_path");
            case METADATA:
                return metadata(p.getMetadata(), path + ".metadata");
            case FILTER_STATE:
                return filterState(p.getFilterState(), path + ".filter_state");
            case CUSTOM:
                throw new ConfigException(path + ".custom: " + p.getCustom().getName()
                                          + " (expected: a principal jmesh supports; custom matchers are not"
                                          + " supported)");
            case SOURCED_METADATA:
                throw new ConfigException(path + ".sourced_metadata: (expected: metadata; sourced_metadata is not"
                                          + " supported)");
            default:
                throw new ConfigException(path + ".identifier: null (expected: one of any, and_ids, or_ids, not_id,"
                                          + " authenticated, source_ip, direct_remote_ip, remote_ip, header,"
                                          + " url_path, metadata, filter_state)");
        }
    }

    private static RbacMatcher and(List<RbacMatcher> all) {
        RbacMatcher[] a = all.toArray(new RbacMatcher[0]);
        return (r, c, s) -> {
            for (RbacMatcher m : a) {
                if (!m.matches(r, c, s)) {
                    return false;
                }
            }
            return true;
        };
    }

    private static RbacMatcher or(List<RbacMatcher> any) {
        RbacMatcher[] a = any.toArray(new RbacMatcher[0]);
        return (r, c, s) -> {
            for (RbacMatcher m : a) {
                if (m.matches(r, c, s)) {
                    return true;
                }
            }
            return false;
        };
    }

    private static RbacMatcher not(RbacMatcher m) {
        return (r, c, s) -> !m.matches(r, c, s);
    }

    /**
     * A header rule; on a network filter (no request) every header is absent, as Envoy's empty header map. The
     * pseudo-headers {@code :method}, {@code :path} and {@code :authority} are the request's method, path and host
     * whatever the protocol, so that rules written for HTTP apply to RPC calls.
     */
    private static RbacMatcher header(HeaderMatch h) {
        String name = h.name();
        switch (name) {
            case ":method":
                return (r, c, s) -> h.matchesValue(r == null ? null : r.method());
            case ":path":
                return (r, c, s) -> h.matchesValue(r == null ? null : r.path());
            case ":authority":
                return (r, c, s) -> h.matchesValue(r == null ? null : r.host());
            default:
                return (r, c, s) -> h.matchesValue(r == null ? null : r.header(name));
        }
    }

    /** Envoy's {@code PathMatcher}: the path without query and fragment; no request never matches. */
    private static RbacMatcher urlPath(PathMatcher p, String path) throws ConfigException {
        if (!p.hasPath()) {
            throw new ConfigException(path + ".path: null (expected: a string matcher)");
        }
        StringMatch m = StringMatch.from(p.getPath(), path + ".path");
        return (r, c, s) -> {
            String full = r == null ? null : r.path();
            return full != null && m.matches(stripQuery(full));
        };
    }

    /**
     * Envoy's {@code envoy.path.match.uri_template} ({@code UriTemplateMatchConfig.path_template}), as istiod writes
     * it for AuthorizationPolicy paths with {@code {*}} and {@code {**}}: a literal path whose segments may be
     * {@code {*}} / {@code {name}} / {@code {name=*}} (exactly one segment) or, last, {@code {**}} /
     * {@code {name=**}} (zero or more segments); matched against the path without query and fragment.
     */
    private static RbacMatcher uriTemplate(io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig config,
                                           String path) throws ConfigException {
        io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig template;
        try {
            template = config.getTypedConfig().unpack(
                    io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig.class);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new ConfigException(path + ".typed_config: " + config.getTypedConfig().getTypeUrl()
                    + " (expected: envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig)");
        }
        java.util.regex.Pattern regex = uriTemplateRegex(template.getPathTemplate(), path + ".typed_config.path_template");
        return (r, c, s) -> {
            String full = r == null ? null : r.path();
            return full != null && regex.matcher(stripQuery(full)).matches();
        };
    }

    /** The regular expression of an Envoy path template; a malformed template is a config error. */
    static java.util.regex.Pattern uriTemplateRegex(String template, String path) throws ConfigException {
        if (!template.startsWith("/")) {
            throw new ConfigException(path + ": " + template + " (expected: a path template starting with /)");
        }
        StringBuilder re = new StringBuilder();
        String[] segments = template.substring(1).split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String seg = segments[i];
            boolean last = i == segments.length - 1;
            String op = seg.startsWith("{") && seg.endsWith("}") ? seg.substring(1, seg.length() - 1) : null;
            if (op != null) {
                int eq = op.indexOf('=');
                op = eq < 0 ? (op.equals("*") || op.equals("**") ? op : "*") : op.substring(eq + 1);
            } else if (seg.equals("*") || seg.equals("**")) {
                op = seg;
            }
            if ("**".equals(op)) {
                if (!last) {
                    throw new ConfigException(path + ": " + template + " (expected: ** only in the last segment)");
                }
                re.append("(?:/.*)?");
            } else if ("*".equals(op)) {
                re.append("/[^/]+");
            } else if (op != null || seg.contains("{") || seg.contains("}")) {
                throw new ConfigException(path + ": " + template + " (expected: segments that are literal, {*}, "
                        + "{name}, {name=*} or, last, {**})");
            } else {
                re.append('/').append(java.util.regex.Pattern.quote(seg));
            }
        }
        return java.util.regex.Pattern.compile(re.toString());
    }

    static String stripQuery(String path) {
        for (int i = 0; i < path.length(); i++) {
            char ch = path.charAt(i);
            if (ch == '?' || ch == '#') {
                return path.substring(0, i);
            }
        }
        return path;
    }

    /**
     * Envoy's {@code AuthenticatedMatcher}: a TLS connection; with a principal name, any URI SAN of the peer
     * certificate, else any DNS SAN, else its subject must match.
     */
    private static RbacMatcher authenticated(StringMatch name) {
        return (r, c, s) -> {
            if (!c.secure()) {
                return false;
            }
            if (name == null) {
                return true;
            }
            if (!c.peerUriSans().isEmpty()) {
                for (String uri : c.peerUriSans()) {
                    if (name.matches(uri)) {
                        return true;
                    }
                }
                return false;
            }
            if (!c.peerDnsSans().isEmpty()) {
                for (String dns : c.peerDnsSans()) {
                    if (name.matches(dns)) {
                        return true;
                    }
                }
                return false;
            }
            List<X509Certificate> chain = c.peerCertificates();
            return name.matches(chain.isEmpty() ? "" : chain.get(0).getSubjectX500Principal().getName());
        };
    }

    private static RbacMatcher filterState(FilterStateMatcher f, String path) throws ConfigException {
        String key = f.getKey();
        if (key.isEmpty()) {
            throw new ConfigException(path + ".key: \"\" (expected: a filter state key)");
        }
        if (!f.hasStringMatch()) {
            throw new ConfigException(path + ".matcher: null (expected: string_match)");
        }
        StringMatch m = StringMatch.from(f.getStringMatch(), path + ".string_match");
        return (r, c, s) -> {
            if (s == null) {
                return false;
            }
            Object v = s.filterState().get(key);
            return v != null && m.matches(v.toString());
        };
    }

    /** Envoy's {@code MetadataMatcher} over the stream's dynamic metadata. */
    static RbacMatcher metadata(MetadataMatcher mm, String path) throws ConfigException {
        String filter = mm.getFilter();
        if (filter.isEmpty()) {
            throw new ConfigException(path + ".filter: \"\" (expected: a filter namespace, e.g. istio_authn)");
        }
        if (mm.getPathCount() == 0) {
            throw new ConfigException(path + ".path: [] (expected: at least one key)");
        }
        String[] keys = new String[mm.getPathCount()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = mm.getPath(i).getKey();
            if (keys[i].isEmpty()) {
                throw new ConfigException(path + ".path[" + i + "].key: \"\" (expected: non-empty)");
            }
        }
        if (!mm.hasValue()) {
            throw new ConfigException(path + ".value: null (expected: a value matcher)");
        }
        ValueMatch value = value(mm.getValue(), path + ".value");
        boolean invert = mm.getInvert();
        return (r, c, s) -> value.matches(lookup(s, filter, keys)) != invert;
    }

    /** The value at {@code keys} under namespace {@code filter}, or null when absent. */
    static Value lookup(StreamInfo s, String filter, String[] keys) {
        if (s == null) {
            return null;
        }
        Map<String, Struct> md = s.dynamicMetadata();
        Struct st = md.get(filter);
        if (st == null) {
            return null;
        }
        Value v = null;
        for (int i = 0; i < keys.length; i++) {
            v = st.getFieldsMap().get(keys[i]);
            if (v == null) {
                return null;
            }
            if (i < keys.length - 1) {
                if (!v.hasStructValue()) {
                    return null;
                }
                st = v.getStructValue();
            }
        }
        return v;
    }

    /** A compiled {@code ValueMatcher}; {@code null} stands for an absent value. */
    @FunctionalInterface
    interface ValueMatch {
        boolean matches(Value v);
    }

    static ValueMatch value(ValueMatcher vm, String path) throws ConfigException {
        switch (vm.getMatchPatternCase()) {
            case NULL_MATCH:
                return v -> v != null && v.hasNullValue();
            case DOUBLE_MATCH:
                return doubles(vm.getDoubleMatch(), path + ".double_match");
            case STRING_MATCH: {
                StringMatch m = StringMatch.from(vm.getStringMatch(), path + ".string_match");
                return v -> v != null && v.hasStringValue() && m.matches(v.getStringValue());
            }
            case BOOL_MATCH: {
                boolean b = vm.getBoolMatch();
                return v -> v != null && v.hasBoolValue() && v.getBoolValue() == b;
            }
            case PRESENT_MATCH: {
                boolean present = vm.getPresentMatch();
                return v -> present && v != null && v.getKindCase() != Value.KindCase.KIND_NOT_SET;
            }
            case LIST_MATCH: {
                if (!vm.getListMatch().hasOneOf()) {
                    throw new ConfigException(path + ".list_match.one_of: null (expected: a value matcher)");
                }
                ValueMatch one = value(vm.getListMatch().getOneOf(), path + ".list_match.one_of");
                return v -> {
                    if (v == null || !v.hasListValue()) {
                        return false;
                    }
                    for (Value e : v.getListValue().getValuesList()) {
                        if (one.matches(e)) {
                            return true;
                        }
                    }
                    return false;
                };
            }
            case OR_MATCH: {
                List<ValueMatch> any = new ArrayList<>();
                for (int i = 0; i < vm.getOrMatch().getValueMatchersCount(); i++) {
                    any.add(value(vm.getOrMatch().getValueMatchers(i), path + ".or_match.value_matchers[" + i + "]"));
                }
                return v -> {
                    for (ValueMatch m : any) {
                        if (m.matches(v)) {
                            return true;
                        }
                    }
                    return false;
                };
            }
            default:
                throw new ConfigException(path + ".match_pattern: null (expected: null_match, double_match,"
                                          + " string_match, bool_match, present_match, list_match or or_match)");
        }
    }

    private static ValueMatch doubles(DoubleMatcher d, String path) throws ConfigException {
        switch (d.getMatchPatternCase()) {
            case EXACT: {
                double x = d.getExact();
                return v -> v != null && v.hasNumberValue() && v.getNumberValue() == x;
            }
            case RANGE: {
                double start = d.getRange().getStart();
                double end = d.getRange().getEnd();
                if (start >= end) {
                    throw new ConfigException(path + ".range: [" + start + ", " + end + ") (expected: start < end)");
                }
                return v -> v != null && v.hasNumberValue() && v.getNumberValue() >= start
                            && v.getNumberValue() < end;
            }
            default:
                throw new ConfigException(path + ".match_pattern: null (expected: exact or range)");
        }
    }
}

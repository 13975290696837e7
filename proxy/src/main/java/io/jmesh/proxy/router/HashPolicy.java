package io.jmesh.proxy.router;

import io.jmesh.proxy.internal.XxHash64;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/**
 * The compiled {@code RouteAction.hash_policy} list. As in Envoy's {@code HashPolicyImpl}, each
 * policy that yields a hash is combined as {@code rotl(previous, 1) ^ hash}, and a terminal policy
 * that yielded a hash (on its own or before it) stops the evaluation.
 */
final class HashPolicy {

    static final HashPolicy NONE = new HashPolicy(new Method[0]);

    private enum Kind { HEADER, COOKIE, SOURCE_IP, QUERY_PARAMETER }

    private static final class Method {
        final Kind kind;
        final String name;
        final Regexes.Substitution rewrite;
        final boolean terminal;

        Method(Kind kind, String name, Regexes.Substitution rewrite, boolean terminal) {
            this.kind = kind;
            this.name = name;
            this.rewrite = rewrite;
            this.terminal = terminal;
        }
    }

    private final Method[] methods;

    private HashPolicy(Method[] methods) {
        this.methods = methods;
    }

    static HashPolicy from(List<RouteAction.HashPolicy> protos, String path) throws ConfigException {
        if (protos.isEmpty()) {
            return NONE;
        }
        final List<Method> methods = new ArrayList<>();
        for (int i = 0; i < protos.size(); i++) {
            final RouteAction.HashPolicy p = protos.get(i);
            final String at = path + '[' + i + ']';
            switch (p.getPolicySpecifierCase()) {
                case HEADER: {
                    final String name = StringMatch.nonEmpty(p.getHeader().getHeaderName(), at + ".header.header_name")
                                                   .toLowerCase(Locale.ROOT);
                    final Regexes.Substitution rw = p.getHeader().hasRegexRewrite()
                            ? Regexes.Substitution.from(p.getHeader().getRegexRewrite(), at + ".header.regex_rewrite")
                            : null;
                    methods.add(new Method(Kind.HEADER, "host".equals(name) ? ":authority" : name, rw,
                                           p.getTerminal()));
                    break;
                }
                case COOKIE:
                    methods.add(new Method(Kind.COOKIE, StringMatch.nonEmpty(p.getCookie().getName(),
                                                                             at + ".cookie.name"),
                                           null, p.getTerminal()));
                    break;
                case CONNECTION_PROPERTIES:
                    if (p.getConnectionProperties().getSourceIp()) {
                        methods.add(new Method(Kind.SOURCE_IP, null, null, p.getTerminal()));
                    }
                    break;
                case QUERY_PARAMETER:
                    methods.add(new Method(Kind.QUERY_PARAMETER,
                                           StringMatch.nonEmpty(p.getQueryParameter().getName(),
                                                                at + ".query_parameter.name"),
                                           null, p.getTerminal()));
                    break;
                default:
                    throw new ConfigException(at + ".policy_specifier: " + p.getPolicySpecifierCase()
                                              + " (expected: header, cookie, connection_properties or"
                                              + " query_parameter)");
            }
        }
        return new HashPolicy(methods.toArray(new Method[0]));
    }

    boolean isEmpty() {
        return methods.length == 0;
    }

    OptionalLong hash(HttpRequest request, InetSocketAddress remote) {
        boolean has = false;
        long hash = 0;
        RequestView view = null;
        for (Method m : methods) {
            String input = null;
            switch (m.kind) {
                case HEADER:
                    input = headerInput(request, m);
                    break;
                case COOKIE:
                    input = cookie(request, m.name);
                    break;
                case SOURCE_IP:
                    if (remote != null) {
                        final InetAddress a = remote.getAddress();
                        if (a != null) {
                            input = a.getHostAddress();
                        }
                    }
                    break;
                case QUERY_PARAMETER:
                    if (view == null) {
                        view = new RequestView(request);
                    }
                    input = view.firstQueryValue(m.name);
                    break;
                default:
                    throw new AssertionError(m.kind);
            }
            if (input != null) {
                final long h = XxHash64.hash(input, 0);
                hash = has ? Long.rotateLeft(hash, 1) ^ h : h;
                has = true;
            }
            if (m.terminal && has) {
                break;
            }
        }
        return has ? OptionalLong.of(hash) : OptionalLong.empty();
    }

    private static String headerInput(HttpRequest request, Method m) {
        if (m.name.charAt(0) == ':') {
            final String v = RequestView.header(request, m.name, null);
            return v == null ? null : m.rewrite != null ? m.rewrite.apply(v) : v;
        }
        final List<String> values = request.headers().getAll(m.name);
        if (values.isEmpty()) {
            return null;
        }
        if (values.size() == 1 && m.rewrite == null) {
            return values.get(0);
        }
        final List<String> sorted = new ArrayList<>(values.size());
        for (String v : values) {
            sorted.add(m.rewrite != null ? m.rewrite.apply(v) : v);
        }
        sorted.sort(null);
        return String.join("", sorted);
    }

    /** The value of the first cookie named {@code name} in the Cookie header(s), or null. */
    static String cookie(HttpRequest request, String name) {
        for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
            int i = 0;
            final int n = header.length();
            while (i < n) {
                while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == ';')) {
                    i++;
                }
                int end = header.indexOf(';', i);
                if (end < 0) {
                    end = n;
                }
                final int eq = header.indexOf('=', i);
                if (eq > i && eq < end && eq - i == name.length() && header.regionMatches(i, name, 0, name.length())) {
                    String v = header.substring(eq + 1, end).trim();
                    if (v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') {
                        v = v.substring(1, v.length() - 1);
                    }
                    return v;
                }
                i = end + 1;
            }
        }
        return null;
    }
}

package io.jmesh.proxy.telemetry.cel;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * A parsed expression of the subset of CEL (the Common Expression Language) that Istio's Telemetry API and Envoy's
 * {@code envoy.access_loggers.extension_filters.cel} filter use, over Envoy's request attributes
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/advanced/attributes).
 *
 * <p>The subset: literals (integers, doubles, single- or double-quoted strings, {@code true}, {@code false},
 * {@code null}, lists {@code [a, b]}), {@code ||}, {@code &&}, {@code !}, {@code ? :}, comparisons
 * ({@code == != < <= > >=}), {@code in} (a list, or a header map), {@code + - * / %}, indexing a header map
 * ({@code request.headers['x-user']}), the methods {@code startsWith}, {@code endsWith}, {@code contains},
 * {@code matches} (Java regex) and {@code size}, and the functions {@code int}, {@code uint}, {@code double},
 * {@code string}, {@code size}, {@code duration('1.5s')} and {@link #ATTRIBUTES the attributes}. Anything else
 * (macros such as {@code has} or {@code exists}, timestamps, other attributes) is refused when parsed, by name.
 *
 * <p>Evaluation follows CEL: a missing header or a type mismatch is an error, and an expression that errs is false
 * for {@link #matches} (as Envoy's filter treats it) and {@code null} for {@link #evaluateString}. Immutable and
 * thread-safe; evaluation allocates little and never blocks.
 */
public final class CelExpression {

    /** The attributes an expression may read. */
    public static final Set<String> ATTRIBUTES = Set.of(
            "request.path", "request.url_path", "request.host", "request.scheme", "request.method",
            "request.headers", "request.referer", "request.useragent", "request.id", "request.protocol",
            "request.duration", "request.size", "request.total_size",
            "response.code", "response.code_details", "response.grpc_status", "response.headers",
            "response.trailers", "response.size", "response.total_size",
            "connection.mtls", "connection.requested_server_name", "connection.tls_version",
            "connection.uri_san_peer_certificate", "connection.uri_san_local_certificate",
            "connection.dns_san_peer_certificate", "connection.id", "connection.termination_details",
            "source.address", "source.port", "destination.address", "destination.port",
            "upstream.address", "upstream.port", "xds.cluster_name", "xds.route_name");

    private static final Set<String> ROOTS = Set.of("request", "response", "connection", "source", "destination",
            "upstream", "xds");

    /** Longest expression accepted, in characters. */
    public static final int MAX_LENGTH = 16384;

    private final String text;
    private final Node root;

    private CelExpression(String text, Node root) {
        this.text = text;
        this.root = root;
    }

    /**
     * Parses {@code text}.
     *
     * @throws ConfigException {@code expression: <text> (expected: ...)} naming what the subset cannot parse
     */
    public static CelExpression parse(String text) throws ConfigException {
        if (text == null || text.isBlank()) {
            throw new ConfigException("expression: \"\" (expected: a CEL expression)");
        }
        if (text.length() > MAX_LENGTH) {
            throw new ConfigException("expression: " + text.length() + " characters (expected: <= " + MAX_LENGTH + ")");
        }
        try {
            Parser p = new Parser(text);
            Node n = p.expression();
            p.skipSpace();
            if (p.pos < text.length()) {
                throw p.error("unexpected '" + text.charAt(p.pos) + "'");
            }
            return new CelExpression(text, n);
        } catch (ParseError e) {
            throw new ConfigException("expression: " + text + " (expected: Istio's CEL subset; " + e.getMessage()
                    + ")");
        }
    }

    /** The expression's text. */
    public String text() {
        return text;
    }

    /** Returns whether the expression is {@code true} for the finished request {@code info}; an error is false. */
    public boolean matches(StreamInfo info) {
        try {
            return Boolean.TRUE.equals(root.eval(ctx(info)));
        } catch (EvalError | RuntimeException e) {
            return false;
        }
    }

    /**
     * The expression's value as a string (numbers in decimal, booleans {@code true}/{@code false}, durations in
     * CEL's {@code 1.5s} form) for the request {@code info} (may be null); {@code null} when it errs or is null.
     */
    public String evaluateString(StreamInfo info) {
        try {
            Object v = root.eval(ctx(info));
            return v == null ? null : stringOf(v);
        } catch (EvalError | RuntimeException e) {
            return null;
        }
    }

    private static Ctx ctx(StreamInfo info) {
        return new Ctx(info, info == null ? null : info.requestAttributes());
    }

    @Override
    public String toString() {
        return text;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Evaluation

    /** An evaluation error (CEL's error value): the expression is false / has no value. */
    private static final class EvalError extends Exception {
        private static final long serialVersionUID = 1L;

        EvalError(String message) {
            super(message, null, false, false);
        }
    }

    private record Ctx(StreamInfo info, RequestAttributes request) {}

    /** A header map value: request headers, response headers or trailers. */
    private record Headers(StreamInfo info, RequestAttributes request, HttpHeaders headers) {
        String get(String name) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (request != null) {
                String v = request.header(lower);
                if (v != null) {
                    return v;
                }
                if (headers == null) {
                    return null;
                }
            }
            if (headers == null) {
                return null;
            }
            List<String> all = headers.getAll(lower);
            return all.isEmpty() ? null : String.join(",", all);
        }

        int size() {
            return headers == null ? 0 : headers.size();
        }
    }

    private interface Node {
        Object eval(Ctx c) throws EvalError;
    }

    private record Literal(Object value) implements Node {
        public Object eval(Ctx c) {
            return value;
        }
    }

    private record ListNode(List<Node> items) implements Node {
        public Object eval(Ctx c) throws EvalError {
            List<Object> out = new ArrayList<>(items.size());
            for (Node n : items) {
                out.add(n.eval(c));
            }
            return out;
        }
    }

    private record Attribute(String name) implements Node {
        public Object eval(Ctx c) throws EvalError {
            StreamInfo i = c.info;
            RequestAttributes r = c.request;
            Object v = switch (name) {
                case "request.path" -> r != null && r.path() != null ? r.path() : i == null ? null : i.path();
                case "request.url_path" -> {
                    String p = r != null && r.path() != null ? r.path() : i == null ? null : i.path();
                    int q = p == null ? -1 : p.indexOf('?');
                    yield q < 0 ? p : p.substring(0, q);
                }
                case "request.host" -> r != null && r.host() != null ? r.host() : i == null ? null : i.authority();
                case "request.scheme" -> {
                    String scheme = header(c, ":scheme");
                    ConnectionInfo ci = downstream(c);
                    yield scheme != null ? scheme : ci == null ? null : ci.secure() ? "https" : "http";
                }
                case "request.method" -> r != null && r.method() != null ? r.method() : i == null ? null : i.method();
                case "request.headers" -> new Headers(i, r, i == null ? null : i.requestHeaders());
                case "request.referer" -> header(c, "referer");
                case "request.useragent" -> r != null && r.header("user-agent") != null ? r.header("user-agent")
                        : i == null ? null : i.userAgent();
                case "request.id" -> i != null && i.requestId() != null ? i.requestId() : header(c, "x-request-id");
                case "request.protocol" -> i != null && i.protocol() != null ? i.protocol()
                        : r == null ? null : r.protocol();
                case "request.duration" -> i == null || i.durationMs() < 0 ? null : Duration.ofMillis(i.durationMs());
                case "request.size", "request.total_size" -> i == null ? null : (Object) i.bytesReceived();
                case "response.code" -> i == null ? null : (Object) (long) i.responseCode();
                case "response.code_details" -> i == null ? null : i.responseCodeDetails();
                case "response.grpc_status" -> grpcStatus(i);
                case "response.headers" -> new Headers(i, null, i == null ? null : i.responseHeaders());
                case "response.trailers" -> new Headers(i, null, i == null ? null : i.responseTrailers());
                case "response.size", "response.total_size" -> i == null ? null : (Object) i.bytesSent();
                case "connection.mtls" -> {
                    ConnectionInfo ci = downstream(c);
                    yield ci != null && ci.peerCertificatePresented();
                }
                case "connection.requested_server_name" -> {
                    ConnectionInfo ci = downstream(c);
                    yield ci == null || ci.requestedServerName() == null ? "" : ci.requestedServerName();
                }
                case "connection.tls_version" -> {
                    ConnectionInfo ci = downstream(c);
                    yield ci == null ? null : ci.tlsVersion();
                }
                case "connection.uri_san_peer_certificate" -> first(downstream(c), true);
                case "connection.uri_san_local_certificate" -> first(downstream(c), false);
                case "connection.dns_san_peer_certificate" -> {
                    ConnectionInfo ci = downstream(c);
                    yield ci == null || ci.peerDnsSans().isEmpty() ? null : ci.peerDnsSans().get(0);
                }
                case "connection.id" -> {
                    ConnectionInfo ci = downstream(c);
                    yield ci == null ? null : (Object) ci.id();
                }
                case "connection.termination_details" -> i == null ? null : i.connectionTerminationDetails();
                case "source.address" -> address(remote(c), true);
                case "source.port" -> port(remote(c));
                case "destination.address" -> address(local(c), true);
                case "destination.port" -> port(local(c));
                case "upstream.address" -> i == null ? null : i.upstreamHost();
                case "upstream.port" -> {
                    String h = i == null ? null : i.upstreamHost();
                    int colon = h == null ? -1 : h.lastIndexOf(':');
                    yield colon < 0 ? null : (Object) Long.parseLong(h.substring(colon + 1));
                }
                case "xds.cluster_name" -> i == null ? null : i.upstreamCluster();
                case "xds.route_name" -> i == null ? null : i.routeName();
                default -> throw new EvalError("no attribute " + name);
            };
            if (v == null) {
                throw new EvalError("no value for " + name);
            }
            return v;
        }

        private static String header(Ctx c, String name) {
            if (c.request != null) {
                String v = c.request.header(name);
                if (v != null) {
                    return v;
                }
            }
            HttpHeaders h = c.info == null ? null : c.info.requestHeaders();
            return h == null ? null : h.get(name);
        }

        private static Object grpcStatus(StreamInfo i) {
            if (i == null) {
                return null;
            }
            String s = i.responseTrailers() == null ? null : i.responseTrailers().get("grpc-status");
            if (s == null && i.responseHeaders() != null) {
                s = i.responseHeaders().get("grpc-status");
            }
            try {
                return s == null ? null : (Object) Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }

        private static ConnectionInfo downstream(Ctx c) {
            if (c.info != null && c.info.downstreamConnection() != null) {
                return c.info.downstreamConnection();
            }
            return c.request == null ? null : c.request.connection();
        }

        private static String first(ConnectionInfo ci, boolean peer) {
            List<String> sans = ci == null ? List.of() : peer ? ci.peerUriSans() : ci.localUriSans();
            return sans.isEmpty() ? null : sans.get(0);
        }

        private static InetSocketAddress remote(Ctx c) {
            if (c.info != null && c.info.downstreamRemoteAddress() != null) {
                return c.info.downstreamRemoteAddress();
            }
            ConnectionInfo ci = downstream(c);
            return ci == null ? null : ci.remoteAddress();
        }

        private static InetSocketAddress local(Ctx c) {
            if (c.info != null && c.info.downstreamLocalAddress() != null) {
                return c.info.downstreamLocalAddress();
            }
            ConnectionInfo ci = downstream(c);
            return ci == null ? null : ci.localAddress();
        }

        private static String address(InetSocketAddress a, boolean withPort) {
            if (a == null) {
                return null;
            }
            String host = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
            if (host.indexOf(':') >= 0) {
                host = "[" + host + "]";
            }
            return withPort ? host + ":" + a.getPort() : host;
        }

        private static Object port(InetSocketAddress a) {
            return a == null ? null : (Object) (long) a.getPort();
        }
    }

    private record Not(Node operand) implements Node {
        public Object eval(Ctx c) throws EvalError {
            return !bool(operand.eval(c));
        }
    }

    private record Negate(Node operand) implements Node {
        public Object eval(Ctx c) throws EvalError {
            Object v = operand.eval(c);
            if (v instanceof Long l) {
                return -l;
            }
            if (v instanceof Double d) {
                return -d;
            }
            throw new EvalError("no such overload: -" + typeName(v));
        }
    }

    /** {@code ||} and {@code &&} with CEL's commutative error handling: a decisive side wins over an error. */
    private record Logical(boolean or, Node left, Node right) implements Node {
        public Object eval(Ctx c) throws EvalError {
            EvalError error = null;
            try {
                boolean l = bool(left.eval(c));
                if (l == or) {
                    return or;
                }
            } catch (EvalError e) {
                error = e;
            }
            boolean r = bool(right.eval(c));
            if (r == or) {
                return or;
            }
            if (error != null) {
                throw error;
            }
            return !or;
        }
    }

    private record Conditional(Node condition, Node then, Node otherwise) implements Node {
        public Object eval(Ctx c) throws EvalError {
            return bool(condition.eval(c)) ? then.eval(c) : otherwise.eval(c);
        }
    }

    private record Binary(String op, Node left, Node right) implements Node {
        public Object eval(Ctx c) throws EvalError {
            Object l = left.eval(c);
            Object r = right.eval(c);
            switch (op) {
                case "==":
                    return equal(l, r);
                case "!=":
                    return !equal(l, r);
                case "<":
                    return compare(l, r) < 0;
                case "<=":
                    return compare(l, r) <= 0;
                case ">":
                    return compare(l, r) > 0;
                case ">=":
                    return compare(l, r) >= 0;
                case "in":
                    if (r instanceof List<?> list) {
                        for (Object o : list) {
                            if (equal(l, o)) {
                                return true;
                            }
                        }
                        return false;
                    }
                    if (r instanceof Headers h && l instanceof String s) {
                        return h.get(s) != null;
                    }
                    throw new EvalError("no such overload: " + typeName(l) + " in " + typeName(r));
                default:
                    return arithmetic(op, l, r);
            }
        }
    }

    private record Index(Node target, Node key) implements Node {
        public Object eval(Ctx c) throws EvalError {
            Object t = target.eval(c);
            Object k = key.eval(c);
            if (t instanceof Headers h && k instanceof String s) {
                String v = h.get(s);
                if (v == null) {
                    throw new EvalError("no such key: " + s);
                }
                return v;
            }
            if (t instanceof List<?> list && k instanceof Long i) {
                if (i < 0 || i >= list.size()) {
                    throw new EvalError("index out of range: " + i);
                }
                return list.get(i.intValue());
            }
            throw new EvalError("no such overload: " + typeName(t) + "[" + typeName(k) + "]");
        }
    }

    private record Call(String function, Node target, List<Node> args, Pattern regex) implements Node {
        public Object eval(Ctx c) throws EvalError {
            Object t = target == null ? null : target.eval(c);
            List<Object> a = new ArrayList<>(args.size());
            for (Node n : args) {
                a.add(n.eval(c));
            }
            if (target != null) {
                if (function.equals("size")) {
                    return size(t);
                }
                if (!(t instanceof String s) || !(a.get(0) instanceof String arg)) {
                    throw new EvalError("no such overload: " + typeName(t) + "." + function);
                }
                return switch (function) {
                    case "startsWith" -> s.startsWith(arg);
                    case "endsWith" -> s.endsWith(arg);
                    case "contains" -> s.contains(arg);
                    case "matches" -> (regex != null ? regex : compile(arg)).matcher(s).find();
                    default -> throw new EvalError("no such function: " + function);
                };
            }
            Object v = a.get(0);
            switch (function) {
                case "size":
                    return size(v);
                case "string":
                    return stringOf(v);
                case "int":
                case "uint":
                    if (v instanceof Long) {
                        return v;
                    }
                    if (v instanceof Double d) {
                        return (long) d.doubleValue();
                    }
                    if (v instanceof String s) {
                        try {
                            return Long.parseLong(s.trim());
                        } catch (NumberFormatException e) {
                            throw new EvalError("not an int: " + s);
                        }
                    }
                    if (v instanceof Duration d) {
                        return d.getSeconds();
                    }
                    throw new EvalError("no such overload: int(" + typeName(v) + ")");
                case "double":
                    if (v instanceof Long l) {
                        return (double) l;
                    }
                    if (v instanceof Double) {
                        return v;
                    }
                    if (v instanceof String s) {
                        try {
                            return Double.parseDouble(s.trim());
                        } catch (NumberFormatException e) {
                            throw new EvalError("not a double: " + s);
                        }
                    }
                    throw new EvalError("no such overload: double(" + typeName(v) + ")");
                case "duration":
                    if (v instanceof String s) {
                        Duration d = parseDuration(s);
                        if (d == null) {
                            throw new EvalError("not a duration: " + s);
                        }
                        return d;
                    }
                    throw new EvalError("no such overload: duration(" + typeName(v) + ")");
                default:
                    throw new EvalError("no such function: " + function);
            }
        }

        private static Pattern compile(String regex) throws EvalError {
            try {
                return Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new EvalError("bad regex: " + regex);
            }
        }
    }

    private static boolean bool(Object v) throws EvalError {
        if (v instanceof Boolean b) {
            return b;
        }
        throw new EvalError("no matching overload: expected bool, got " + typeName(v));
    }

    private static long size(Object v) throws EvalError {
        if (v instanceof String s) {
            return s.codePointCount(0, s.length());
        }
        if (v instanceof List<?> l) {
            return l.size();
        }
        if (v instanceof Headers h) {
            return h.size();
        }
        throw new EvalError("no such overload: size(" + typeName(v) + ")");
    }

    private static boolean equal(Object l, Object r) {
        if (l instanceof Number a && r instanceof Number b) {
            return (a instanceof Long && b instanceof Long) ? a.longValue() == b.longValue()
                    : a.doubleValue() == b.doubleValue();
        }
        return l == null ? r == null : l.equals(r);
    }

    private static int compare(Object l, Object r) throws EvalError {
        if (l instanceof Long a && r instanceof Long b) {
            return Long.compare(a, b);
        }
        if (l instanceof Number a && r instanceof Number b) {
            return Double.compare(a.doubleValue(), b.doubleValue());
        }
        if (l instanceof String a && r instanceof String b) {
            return a.compareTo(b);
        }
        if (l instanceof Duration a && r instanceof Duration b) {
            return a.compareTo(b);
        }
        if (l instanceof Boolean a && r instanceof Boolean b) {
            return Boolean.compare(a, b);
        }
        throw new EvalError("no such overload: " + typeName(l) + " < " + typeName(r));
    }

    private static Object arithmetic(String op, Object l, Object r) throws EvalError {
        if (op.equals("+") && l instanceof String a && r instanceof String b) {
            return a + b;
        }
        if (l instanceof Long a && r instanceof Long b) {
            switch (op) {
                case "+": return a + b;
                case "-": return a - b;
                case "*": return a * b;
                case "/":
                    if (b == 0) {
                        throw new EvalError("division by zero");
                    }
                    return a / b;
                case "%":
                    if (b == 0) {
                        throw new EvalError("modulus by zero");
                    }
                    return a % b;
                default: break;
            }
        }
        if (l instanceof Double a && r instanceof Double b) {
            switch (op) {
                case "+": return a + b;
                case "-": return a - b;
                case "*": return a * b;
                case "/": return a / b;
                default: break;
            }
        }
        if (l instanceof Duration a && r instanceof Duration b && (op.equals("+") || op.equals("-"))) {
            return op.equals("+") ? a.plus(b) : a.minus(b);
        }
        throw new EvalError("no such overload: " + typeName(l) + " " + op + " " + typeName(r));
    }

    private static String stringOf(Object v) {
        if (v instanceof Duration d) {
            long nanos = d.toNanos();
            if (nanos % 1_000_000_000L == 0) {
                return (nanos / 1_000_000_000L) + "s";
            }
            return java.math.BigDecimal.valueOf(nanos, 9).stripTrailingZeros().toPlainString() + "s";
        }
        if (v instanceof Headers h) {
            return h.headers == null ? "{}" : h.headers.toString();
        }
        return String.valueOf(v);
    }

    private static String typeName(Object v) {
        if (v == null) {
            return "null_type";
        }
        if (v instanceof Long) {
            return "int";
        }
        if (v instanceof Double) {
            return "double";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (v instanceof Duration) {
            return "google.protobuf.Duration";
        }
        if (v instanceof List) {
            return "list";
        }
        return "map";
    }

    /** CEL's duration string: a sequence of decimal numbers with units h, m, s, ms, us, ns (e.g. {@code 1m30s}). */
    static Duration parseDuration(String s) {
        String t = s.trim();
        boolean negative = t.startsWith("-");
        if (negative) {
            t = t.substring(1);
        }
        if (t.isEmpty()) {
            return null;
        }
        if (t.equals("0")) {
            return Duration.ZERO;
        }
        java.util.regex.Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|us|µs|ns|m|s)").matcher(t);
        int at = 0;
        double nanos = 0;
        while (at < t.length()) {
            if (!m.find(at) || m.start() != at) {
                return null;
            }
            double n = Double.parseDouble(m.group(1));
            nanos += n * switch (m.group(2)) {
                case "h" -> 3600e9;
                case "m" -> 60e9;
                case "s" -> 1e9;
                case "ms" -> 1e6;
                case "us", "µs" -> 1e3;
                default -> 1;
            };
            at = m.end();
        }
        Duration d = Duration.ofNanos((long) nanos);
        return negative ? d.negated() : d;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Parsing: a recursive-descent parser of CEL's grammar, restricted to the subset above.

    private static final class ParseError extends Exception {
        private static final long serialVersionUID = 1L;

        ParseError(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Parser {
        private final String s;
        int pos;
        private int depth;

        Parser(String s) {
            this.s = s;
        }

        ParseError error(String what) {
            return new ParseError(what + " at " + pos);
        }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        boolean eat(String token) {
            skipSpace();
            if (s.startsWith(token, pos)) {
                // "in" must not be the prefix of an identifier; "=" must not be read out of "==" etc.
                if (Character.isLetter(token.charAt(0)) && pos + token.length() < s.length()
                        && isIdentPart(s.charAt(pos + token.length()))) {
                    return false;
                }
                pos += token.length();
                return true;
            }
            return false;
        }

        void expect(String token) throws ParseError {
            if (!eat(token)) {
                throw error("expected '" + token + "'");
            }
        }

        Node expression() throws ParseError {
            if (++depth > 64) {
                throw error("nesting deeper than 64");
            }
            Node c = or();
            if (eat("?")) {
                Node a = expression();
                expect(":");
                Node b = expression();
                c = new Conditional(c, a, b);
            }
            depth--;
            return c;
        }

        Node or() throws ParseError {
            Node n = and();
            while (eat("||")) {
                n = new Logical(true, n, and());
            }
            return n;
        }

        Node and() throws ParseError {
            Node n = relation();
            while (eat("&&")) {
                n = new Logical(false, n, relation());
            }
            return n;
        }

        Node relation() throws ParseError {
            Node n = addition();
            for (;;) {
                String op = null;
                for (String candidate : new String[] {"==", "!=", "<=", ">=", "<", ">", "in"}) {
                    if (eat(candidate)) {
                        op = candidate;
                        break;
                    }
                }
                if (op == null) {
                    skipSpace();
                    if (pos < s.length() && s.charAt(pos) == '=') {
                        throw error("'=' is not an operator (expected: '==')");
                    }
                    return n;
                }
                n = new Binary(op, n, addition());
            }
        }

        Node addition() throws ParseError {
            Node n = multiplication();
            for (;;) {
                if (eat("+")) {
                    n = new Binary("+", n, multiplication());
                } else if (peekMinus() && eat("-")) {
                    n = new Binary("-", n, multiplication());
                } else {
                    return n;
                }
            }
        }

        private boolean peekMinus() {
            skipSpace();
            return pos < s.length() && s.charAt(pos) == '-';
        }

        Node multiplication() throws ParseError {
            Node n = unary();
            for (;;) {
                if (eat("*")) {
                    n = new Binary("*", n, unary());
                } else if (eat("/")) {
                    n = new Binary("/", n, unary());
                } else if (eat("%")) {
                    n = new Binary("%", n, unary());
                } else {
                    return n;
                }
            }
        }

        Node unary() throws ParseError {
            skipSpace();
            if (pos < s.length() && s.charAt(pos) == '!' && !s.startsWith("!=", pos)) {
                pos++;
                return new Not(unary());
            }
            if (pos < s.length() && s.charAt(pos) == '-') {
                pos++;
                skipSpace();
                if (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                    Object n = number();
                    return member(new Literal(n instanceof Long l ? (Object) (-l) : (Object) (-(Double) n)));
                }
                return new Negate(unary());
            }
            return member(primary());
        }

        Node member(Node n) throws ParseError {
            for (;;) {
                if (eat(".")) {
                    String name = ident();
                    if (n instanceof Path p && !eatPeek("(")) {
                        n = new Path(p.name + "." + name);
                        continue;
                    }
                    n = resolve(n);
                    expect("(");
                    List<Node> args = args(")");
                    n = method(n, name, args);
                } else if (eat("[")) {
                    n = resolve(n);
                    Node key = expression();
                    expect("]");
                    n = new Index(n, key);
                } else {
                    return resolve(n);
                }
            }
        }

        private boolean eatPeek(String token) {
            skipSpace();
            return s.startsWith(token, pos);
        }

        private Node method(Node target, String name, List<Node> args) throws ParseError {
            switch (name) {
                case "startsWith", "endsWith", "contains", "matches" -> {
                    if (args.size() != 1) {
                        throw error(name + " takes one argument");
                    }
                    Pattern regex = null;
                    if (name.equals("matches") && args.get(0) instanceof Literal l && l.value instanceof String r) {
                        try {
                            regex = Pattern.compile(r);
                        } catch (PatternSyntaxException e) {
                            throw error("bad regex '" + r + "'");
                        }
                    }
                    return new Call(name, target, args, regex);
                }
                case "size" -> {
                    if (!args.isEmpty()) {
                        throw error("size() takes no argument");
                    }
                    return new Call(name, target, args, null);
                }
                default -> throw error("unsupported method '" + name + "' (supported: startsWith, endsWith, contains,"
                        + " matches, size)");
            }
        }

        /** A dotted name being read ({@code request.headers}); resolved to an attribute when complete. */
        private record Path(String name) implements Node {
            public Object eval(Ctx c) throws EvalError {
                throw new EvalError("unresolved " + name);
            }
        }

        private Node resolve(Node n) throws ParseError {
            if (!(n instanceof Path p)) {
                return n;
            }
            if (ATTRIBUTES.contains(p.name)) {
                return new Attribute(p.name);
            }
            // request.headers.x-y is not CEL; request.headers.foo is a field selection on a map.
            int dot = p.name.indexOf('.');
            if (dot > 0) {
                int second = p.name.indexOf('.', dot + 1);
                String attr = second < 0 ? p.name : p.name.substring(0, second);
                if (second > 0 && (attr.equals("request.headers") || attr.equals("response.headers")
                        || attr.equals("response.trailers"))) {
                    String rest = p.name.substring(second + 1);
                    if (rest.indexOf('.') < 0) {
                        return new Index(new Attribute(attr), new Literal(rest));
                    }
                }
                throw error("unknown attribute '" + p.name + "' (expected: one of " + new TreeSet<>(ATTRIBUTES) + ")");
            }
            throw error("unknown identifier '" + p.name + "' (expected: an attribute of " + new TreeSet<>(ROOTS) + ")");
        }

        List<Node> args(String close) throws ParseError {
            List<Node> out = new ArrayList<>();
            if (eat(close)) {
                return out;
            }
            do {
                out.add(expression());
            } while (eat(","));
            expect(close);
            return out;
        }

        Node primary() throws ParseError {
            skipSpace();
            if (pos >= s.length()) {
                throw error("unexpected end");
            }
            char ch = s.charAt(pos);
            if (ch == '(') {
                pos++;
                Node n = expression();
                expect(")");
                return n;
            }
            if (ch == '[') {
                pos++;
                return new ListNode(args("]"));
            }
            if (ch == '\'' || ch == '"') {
                return new Literal(string());
            }
            if (Character.isDigit(ch)) {
                return new Literal(number());
            }
            if (ch == '{') {
                throw error("map literals are not supported");
            }
            if (!isIdentStart(ch)) {
                throw error("unexpected '" + ch + "'");
            }
            String name = ident();
            switch (name) {
                case "true":
                    return new Literal(Boolean.TRUE);
                case "false":
                    return new Literal(Boolean.FALSE);
                case "null":
                    return new Literal(null);
                default:
                    break;
            }
            if (eat("(")) {
                List<Node> args = args(")");
                switch (name) {
                    case "int", "uint", "double", "string", "size", "duration" -> {
                        if (args.size() != 1) {
                            throw error(name + "() takes one argument");
                        }
                        if (name.equals("duration") && args.get(0) instanceof Literal l && l.value instanceof String d
                                && parseDuration(d) == null) {
                            throw error("bad duration '" + d + "'");
                        }
                        return new Call(name, null, args, null);
                    }
                    default -> throw error("unsupported function '" + name
                            + "' (supported: int, uint, double, string, size, duration)");
                }
            }
            if (!ROOTS.contains(name)) {
                throw error("unknown identifier '" + name + "' (expected: an attribute of " + new TreeSet<>(ROOTS)
                        + ")");
            }
            return new Path(name);
        }

        String ident() throws ParseError {
            skipSpace();
            int start = pos;
            if (pos >= s.length() || !isIdentStart(s.charAt(pos))) {
                throw error("expected a name");
            }
            while (pos < s.length() && isIdentPart(s.charAt(pos))) {
                pos++;
            }
            return s.substring(start, pos);
        }

        Object number() throws ParseError {
            int start = pos;
            if (s.startsWith("0x", pos) || s.startsWith("0X", pos)) {
                pos += 2;
                while (pos < s.length() && Character.digit(s.charAt(pos), 16) >= 0) {
                    pos++;
                }
                long v = Long.parseLong(s.substring(start + 2, pos), 16);
                if (pos < s.length() && (s.charAt(pos) == 'u' || s.charAt(pos) == 'U')) {
                    pos++;
                }
                return v;
            }
            while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                pos++;
            }
            boolean dbl = false;
            if (pos + 1 < s.length() && s.charAt(pos) == '.' && Character.isDigit(s.charAt(pos + 1))) {
                dbl = true;
                pos++;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                dbl = true;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                    pos++;
                }
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
            String text = s.substring(start, pos);
            try {
                if (dbl) {
                    return Double.parseDouble(text);
                }
                long v = Long.parseLong(text);
                if (pos < s.length() && (s.charAt(pos) == 'u' || s.charAt(pos) == 'U')) {
                    pos++;
                }
                return v;
            } catch (NumberFormatException e) {
                throw error("bad number '" + text + "'");
            }
        }

        String string() throws ParseError {
            char quote = s.charAt(pos++);
            StringBuilder sb = new StringBuilder();
            while (pos < s.length()) {
                char ch = s.charAt(pos++);
                if (ch == quote) {
                    return sb.toString();
                }
                if (ch == '\\' && pos < s.length()) {
                    char e = s.charAt(pos++);
                    switch (e) {
                        case 'n' -> sb.append('\n');
                        case 't' -> sb.append('\t');
                        case 'r' -> sb.append('\r');
                        case '\\', '\'', '"' -> sb.append(e);
                        default -> throw error("unsupported escape '\\" + e + "'");
                    }
                } else {
                    sb.append(ch);
                }
            }
            throw error("unterminated string");
        }

        private static boolean isIdentStart(char c) {
            return Character.isLetter(c) || c == '_';
        }

        private static boolean isIdentPart(char c) {
            return Character.isLetterOrDigit(c) || c == '_';
        }
    }
}

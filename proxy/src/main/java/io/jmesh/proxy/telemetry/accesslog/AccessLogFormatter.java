package io.jmesh.proxy.telemetry.accesslog;

import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.stream.ResponseFlag;

import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An Envoy access log format string, parsed once and applied to many entries. See
 * <a href="https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage">
 * Envoy access log usage</a>.
 *
 * <p>Command operators are {@code %COMMAND%}, {@code %COMMAND(arg)%} or {@code %COMMAND(arg):N%}, where
 * {@code N} truncates the value to at most {@code N} characters. {@code %REQ(X?Y)%} prints request header
 * {@code X}, or {@code Y} when {@code X} is absent; {@code :METHOD}, {@code :PATH} and {@code :AUTHORITY} are
 * the pseudo-headers. {@code %START_TIME(fmt)%} takes a strftime-like format in UTC with Envoy's
 * {@code %s}, {@code %f}/{@code %3f}/{@code %6f}/{@code %9f} and {@code %E3S}-style extensions.
 * Absent values print as {@code "-"}; text outside operators is copied as is. {@code %%} is a literal
 * percent sign.
 *
 * <p>Immutable and thread-safe. {@link #appendTo} is the event loop's path: numbers, IPv4 addresses and the start
 * time are written straight into the caller's builder (the start time's text up to the second is kept per format
 * and only the fraction is written per entry), so a line costs no object per field.
 */
public final class AccessLogFormatter {

    /** Envoy's default access log format, including the trailing newline. */
    public static final String DEFAULT_FORMAT =
            "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
            + "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
            + "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
            + "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

    private static final String DEFAULT_START_TIME_FORMAT = "%Y-%m-%dT%H:%M:%E3SZ";

    private static final Pattern OPERATOR =
            Pattern.compile("%([A-Z][A-Z0-9_]*)(?:\\(([^)]*)\\))?(?::(\\d+))?%");

    private final String format;
    private final List<Part> parts;

    private AccessLogFormatter(String format, List<Part> parts) {
        this.format = format;
        this.parts = parts;
    }

    /**
     * Parses {@code format}.
     *
     * @throws ConfigException for an unknown command operator or a malformed argument, in the form
     *         {@code format: %FOO% (expected: ...)}
     */
    public static AccessLogFormatter parse(String format) throws ConfigException {
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < format.length()) {
            char c = format.charAt(i);
            if (c != '%') {
                literal.append(c);
                i++;
                continue;
            }
            if (i + 1 < format.length() && format.charAt(i + 1) == '%') {
                literal.append('%');
                i += 2;
                continue;
            }
            Matcher m = OPERATOR.matcher(format);
            m.region(i, format.length());
            if (!m.lookingAt()) {
                throw new ConfigException("format: " + quote(format.substring(i))
                        + " (expected: %COMMAND%, %COMMAND(arg)% or %COMMAND(arg):N%)");
            }
            if (literal.length() > 0) {
                parts.add(new Part(literal.toString(), null, -1));
                literal.setLength(0);
            }
            int maxLength = m.group(3) == null ? -1 : parseLength(m.group(0), m.group(3));
            parts.add(new Part(null, command(m.group(0), m.group(1), m.group(2)), maxLength));
            i = m.end();
        }
        if (literal.length() > 0) {
            parts.add(new Part(literal.toString(), null, -1));
        }
        return new AccessLogFormatter(format, List.copyOf(parts));
    }

    /** The format string this was parsed from. */
    public String formatString() {
        return format;
    }

    /** Formats {@code entry}; absent values print as {@code "-"}. */
    public String format(StreamInfo entry) {
        StringBuilder out = new StringBuilder(128);
        appendTo(entry, out);
        return out.toString();
    }

    /** Appends {@code entry} formatted to {@code out}: the same text as {@link #format}. */
    public void appendTo(StreamInfo entry, StringBuilder out) {
        for (Part part : parts) {
            part.appendTo(entry, out);
        }
    }

    /**
     * For JSON formats: when this format is exactly one command operator, its typed value ({@link Long} for
     * numbers, {@link String} otherwise, {@code null} when absent); else the formatted string.
     */
    Object typedValue(StreamInfo entry) {
        if (parts.size() == 1 && parts.get(0).literal == null) {
            return parts.get(0).value(entry);
        }
        return format(entry);
    }

    private static int parseLength(String operator, String digits) throws ConfigException {
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new ConfigException("format: " + operator + " (expected: a length that fits an int)");
        }
    }

    private static String quote(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static Function<StreamInfo, Object> command(String operator, String name, String arg)
            throws ConfigException {
        switch (name) {
            case "START_TIME":
                return new StartTime(arg == null || arg.isEmpty() ? DEFAULT_START_TIME_FORMAT : arg);
            case "REQ":
                return headerCommand(operator, arg, AccessLogFormatter::requestHeader);
            case "RESP":
                return headerCommand(operator, arg, AccessLogFormatter::responseHeader);
            case "TRAILER":
                return headerCommand(operator, arg, (e, h) -> header(e.responseTrailers(), h));
            case "DYNAMIC_METADATA":
                return metadataCommand(operator, arg, e -> {
                    var md = e.dynamicMetadata();
                    return md.isEmpty() ? null : md;
                });
            case "UPSTREAM_METADATA":
                return metadataCommand(operator, arg, e -> {
                    com.google.protobuf.Struct s = e.upstreamHostMetadata();
                    if (s == null) {
                        return null;
                    }
                    java.util.Map<String, com.google.protobuf.Struct> byNamespace = new java.util.LinkedHashMap<>();
                    s.getFieldsMap().forEach((k, v) -> {
                        if (v.hasStructValue()) {
                            byNamespace.put(k, v.getStructValue());
                        }
                    });
                    return byNamespace;
                });
            case "FILTER_STATE":
                return filterStateCommand(operator, arg);
            default:
                break;
        }
        if (arg != null) {
            throw new ConfigException("format: " + operator + " (expected: no argument for %" + name + "%)");
        }
        switch (name) {
            case "RESPONSE_CODE":
                return (LongCommand) e -> e.responseCode();
            case "RESPONSE_CODE_DETAILS":
                return StreamInfo::responseCodeDetails;
            case "RESPONSE_FLAGS":
                return AccessLogFormatter::responseFlags;
            case "BYTES_RECEIVED":
                return (LongCommand) StreamInfo::bytesReceived;
            case "BYTES_SENT":
                return (LongCommand) StreamInfo::bytesSent;
            case "DURATION":
                return (LongCommand) e -> orAbsent(e.durationMs());
            case "RESPONSE_DURATION":
                return (LongCommand) e -> orAbsent(e.responseDurationMs());
            case "UPSTREAM_SERVICE_TIME":
                return (LongCommand) e -> orAbsent(e.upstreamServiceTimeMs());
            case "UPSTREAM_HOST":
                return StreamInfo::upstreamHost;
            case "UPSTREAM_CLUSTER":
            case "UPSTREAM_CLUSTER_RAW": // jmesh does not shorten long cluster names: the same
                return StreamInfo::upstreamCluster;
            case "UPSTREAM_TRANSPORT_FAILURE_REASON":
                return StreamInfo::upstreamTransportFailureReason;
            case "CONNECTION_TERMINATION_DETAILS":
                return StreamInfo::connectionTerminationDetails;
            case "ROUTE_NAME":
                return StreamInfo::routeName;
            case "PROTOCOL":
                return StreamInfo::protocol;
            case "DOWNSTREAM_REMOTE_ADDRESS":
                return new AddressCommand(StreamInfo::downstreamRemoteAddress, true);
            case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
                return new AddressCommand(StreamInfo::downstreamRemoteAddress, false);
            case "DOWNSTREAM_REMOTE_PORT":
                return (LongCommand) e -> e.downstreamRemoteAddress() == null ? ABSENT : e.downstreamRemoteAddress().getPort();
            case "DOWNSTREAM_LOCAL_ADDRESS":
                return new AddressCommand(StreamInfo::downstreamLocalAddress, true);
            case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
                return new AddressCommand(StreamInfo::downstreamLocalAddress, false);
            case "DOWNSTREAM_LOCAL_PORT":
                return (LongCommand) e -> e.downstreamLocalAddress() == null ? ABSENT : e.downstreamLocalAddress().getPort();
            case "CONNECTION_ID":
                return e -> e.downstreamConnection() == null ? null : (Object) e.downstreamConnection().id();
            case "DOWNSTREAM_PEER_URI_SAN":
                return e -> joined(e.downstreamConnection() == null ? null : e.downstreamConnection().peerUriSans());
            case "DOWNSTREAM_LOCAL_URI_SAN":
                return e -> joined(e.downstreamConnection() == null ? null : e.downstreamConnection().localUriSans());
            case "DOWNSTREAM_TLS_VERSION":
                return e -> e.downstreamConnection() == null ? null : e.downstreamConnection().tlsVersion();
            case "DOWNSTREAM_TLS_CIPHER":
                return e -> e.downstreamConnection() == null ? null : e.downstreamConnection().cipherSuite();
            case "DOWNSTREAM_TLS_SESSION_ID":
                return e -> e.downstreamConnection() == null ? null : e.downstreamConnection().sessionId();
            case "DOWNSTREAM_PEER_SUBJECT":
                return e -> e.downstreamConnection() == null || e.downstreamConnection().peerCertificates().isEmpty()
                        ? null : e.downstreamConnection().peerCertificates().get(0).getSubjectX500Principal().getName();
            case "REQUESTED_SERVER_NAME":
                return e -> {
                    String sni = e.downstreamConnection() == null ? null : e.downstreamConnection().requestedServerName();
                    return sni == null || sni.isEmpty() ? null : sni;
                };
            case "UPSTREAM_LOCAL_ADDRESS":
                return new AddressCommand(e -> e.upstreamConnection() == null ? null : e.upstreamConnection().localAddress(),
                        true);
            default:
                throw new ConfigException("format: " + operator + " (expected: a known command operator)");
        }
    }

    private static String joined(List<String> values) {
        return values == null || values.isEmpty() ? null : String.join(",", values);
    }

    /**
     * {@code %DYNAMIC_METADATA(NAMESPACE:KEY:...)%} and {@code %UPSTREAM_METADATA(...)%}, as Envoy prints them: a
     * string value as is, a number or bool as JSON, a struct or list as compact JSON; the whole namespace when no
     * key is given; {@code -} when absent.
     */
    private static Function<StreamInfo, Object> metadataCommand(String operator, String arg,
            Function<StreamInfo, java.util.Map<String, com.google.protobuf.Struct>> source) throws ConfigException {
        if (arg == null || arg.isEmpty() || arg.startsWith(":") || arg.endsWith(":") || arg.contains("::")) {
            throw new ConfigException("format: " + operator + " (expected: NAMESPACE or NAMESPACE:KEY:...)");
        }
        String[] path = arg.split(":");
        return e -> {
            java.util.Map<String, com.google.protobuf.Struct> all = source.apply(e);
            com.google.protobuf.Struct ns = all == null ? null : all.get(path[0]);
            if (ns == null) {
                return null;
            }
            com.google.protobuf.Value v = com.google.protobuf.Value.newBuilder().setStructValue(ns).build();
            for (int i = 1; i < path.length; i++) {
                if (!v.hasStructValue() || !v.getStructValue().containsFields(path[i])) {
                    return null;
                }
                v = v.getStructValue().getFieldsOrThrow(path[i]);
            }
            return valueText(v);
        };
    }

    private static Object valueText(com.google.protobuf.Value v) {
        switch (v.getKindCase()) {
            case STRING_VALUE:
                return v.getStringValue();
            case NULL_VALUE:
            case KIND_NOT_SET:
                return null;
            case NUMBER_VALUE: {
                double d = v.getNumberValue();
                if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
                    return (long) d;
                }
                return Double.toString(d);
            }
            case BOOL_VALUE:
                return Boolean.toString(v.getBoolValue());
            default:
                try {
                    return com.google.protobuf.util.JsonFormat.printer().omittingInsignificantWhitespace().print(v);
                } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
                    return null;
                }
        }
    }

    /**
     * {@code %FILTER_STATE(KEY:F)%}: {@code PLAIN} prints the object's {@code toString()}; {@code TYPED} (the
     * default) prints a protobuf message as JSON and anything else as a JSON string, as Envoy serializes a
     * string accessor.
     */
    private static Function<StreamInfo, Object> filterStateCommand(String operator, String arg) throws ConfigException {
        if (arg == null || arg.isEmpty()) {
            throw new ConfigException("format: " + operator + " (expected: KEY or KEY:PLAIN or KEY:TYPED)");
        }
        String key = arg;
        boolean plain = false;
        int colon = arg.lastIndexOf(':');
        if (colon > 0) {
            String f = arg.substring(colon + 1);
            if (f.equals("PLAIN") || f.equals("TYPED")) {
                plain = f.equals("PLAIN");
                key = arg.substring(0, colon);
            }
        }
        String k = key;
        boolean asPlain = plain;
        return e -> {
            Object o = e.filterState().get(k);
            if (o == null) {
                return null;
            }
            if (asPlain) {
                return o.toString();
            }
            if (o instanceof com.google.protobuf.MessageOrBuilder) {
                try {
                    return com.google.protobuf.util.JsonFormat.printer().omittingInsignificantWhitespace()
                            .print((com.google.protobuf.MessageOrBuilder) o);
                } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
                    return null;
                }
            }
            StringBuilder b = new StringBuilder().append('"');
            for (char c : o.toString().toCharArray()) {
                if (c == '"' || c == '\\') {
                    b.append('\\');
                }
                b.append(c);
            }
            return b.append('"').toString();
        };
    }

    private interface HeaderLookup {
        String get(StreamInfo entry, String name);
    }

    private static Function<StreamInfo, Object> headerCommand(String operator, String arg, HeaderLookup lookup)
            throws ConfigException {
        if (arg == null || arg.isEmpty()) {
            throw new ConfigException("format: " + operator + " (expected: a header name in parentheses)");
        }
        int q = arg.indexOf('?');
        String main = (q < 0 ? arg : arg.substring(0, q)).toLowerCase(Locale.ROOT);
        String alt = q < 0 ? null : arg.substring(q + 1).toLowerCase(Locale.ROOT);
        if (main.isEmpty() || (alt != null && (alt.isEmpty() || alt.indexOf('?') >= 0))) {
            throw new ConfigException("format: " + operator + " (expected: X or X?Y with header names X and Y)");
        }
        return e -> {
            String v = lookup.get(e, main);
            if (v == null && alt != null) {
                v = lookup.get(e, alt);
            }
            return v;
        };
    }

    private static String requestHeader(StreamInfo e, String name) {
        String fromField;
        switch (name) {
            case ":method": fromField = e.method(); break;
            case ":path": fromField = e.path(); break;
            case ":authority":
            case "host": fromField = e.authority(); break;
            case "x-envoy-original-path": fromField = e.originalPath(); break;
            case "user-agent": fromField = e.userAgent(); break;
            case "x-forwarded-for": fromField = e.forwardedFor(); break;
            case "x-request-id": fromField = e.requestId(); break;
            default: fromField = null;
        }
        return fromField != null ? fromField : header(e.requestHeaders(), name);
    }

    private static String responseHeader(StreamInfo e, String name) {
        String v = header(e.responseHeaders(), name);
        if (v == null) {
            if (name.equals("x-envoy-upstream-service-time") && e.upstreamServiceTimeMs() >= 0) {
                return Long.toString(e.upstreamServiceTimeMs());
            }
            if (name.equals(":status") && e.responseCode() > 0) {
                return Integer.toString(e.responseCode());
            }
        }
        return v;
    }

    private static String header(HttpHeaders headers, String name) {
        return headers == null ? null : headers.get(name);
    }

    private static long orAbsent(long millis) {
        return millis < 0 ? ABSENT : millis;
    }

    private static String responseFlags(StreamInfo e) {
        return e.responseFlags().isEmpty() ? null : ResponseFlag.toShortString(e.responseFlags());
    }

    private static String address(InetSocketAddress address, boolean withPort) {
        if (address == null) {
            return null;
        }
        String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        int zone = host.indexOf('%');
        if (zone >= 0) {
            host = host.substring(0, zone);
        }
        if (!withPort) {
            return host;
        }
        boolean v6 = address.getAddress() instanceof Inet6Address || host.indexOf(':') >= 0;
        return (v6 ? "[" + host + "]" : host) + ':' + address.getPort();
    }

    /** Formats {@code epochMillis} in UTC with a strftime-like format; visible for tests. */
    static String strftime(String fmt, long epochMillis) {
        ZonedDateTime t = Instant.ofEpochMilli(epochMillis).atZone(ZoneOffset.UTC);
        long nanosOfSecond = (epochMillis % 1000 + 1000) % 1000 * 1_000_000L;
        StringBuilder out = new StringBuilder(32);
        int i = 0;
        while (i < fmt.length()) {
            char c = fmt.charAt(i++);
            if (c != '%' || i >= fmt.length()) {
                out.append(c);
                continue;
            }
            char s = fmt.charAt(i++);
            int digits = -1;
            if (s >= '1' && s <= '9' && i < fmt.length() && fmt.charAt(i) == 'f') {
                digits = s - '0';
                s = fmt.charAt(i++);
            } else if (s == 'E' && i < fmt.length()) {
                // %ES or %E<n>S: seconds with n (default all) fractional digits.
                int j = i;
                int n = 9;
                if (fmt.charAt(j) >= '0' && fmt.charAt(j) <= '9') {
                    n = fmt.charAt(j) - '0';
                    j++;
                }
                if (j < fmt.length() && fmt.charAt(j) == 'S') {
                    pad(out, t.getSecond(), 2);
                    if (n > 0) {
                        out.append('.').append(fraction(nanosOfSecond, n));
                    }
                    i = j + 1;
                    continue;
                }
            }
            switch (s) {
                case 'Y': out.append(t.getYear()); break;
                case 'y': pad(out, t.getYear() % 100, 2); break;
                case 'm': pad(out, t.getMonthValue(), 2); break;
                case 'd': pad(out, t.getDayOfMonth(), 2); break;
                case 'e': pad(out, t.getDayOfMonth(), 2, ' '); break;
                case 'H': pad(out, t.getHour(), 2); break;
                case 'M': pad(out, t.getMinute(), 2); break;
                case 'S': pad(out, t.getSecond(), 2); break;
                case 'j': pad(out, t.getDayOfYear(), 3); break;
                case 's': out.append(Math.floorDiv(epochMillis, 1000L)); break;
                case 'f': out.append(fraction(nanosOfSecond, digits < 0 ? 9 : digits)); break;
                case 'F': out.append(strftime("%Y-%m-%d", epochMillis)); break;
                case 'T': out.append(strftime("%H:%M:%S", epochMillis)); break;
                case 'z': out.append("+0000"); break;
                case 'Z': out.append("UTC"); break;
                case 'a': out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ROOT)); break;
                case 'A': out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ROOT)); break;
                case 'b': out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ROOT)); break;
                case 'B': out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ROOT)); break;
                case '%': out.append('%'); break;
                default: out.append('%').append(s);
            }
        }
        return out.toString();
    }

    /** The first {@code digits} (at most 9) of the nine-digit, zero-padded {@code nanosOfSecond}. */
    private static String fraction(long nanosOfSecond, int digits) {
        char[] nine = new char[9];
        long v = nanosOfSecond;
        for (int k = 8; k >= 0; k--) {
            nine[k] = (char) ('0' + v % 10);
            v /= 10;
        }
        return new String(nine, 0, Math.max(0, Math.min(9, digits)));
    }

    private static void pad(StringBuilder out, int value, int width) {
        pad(out, value, width, '0');
    }

    private static void pad(StringBuilder out, int value, int width, char padChar) {
        String s = Integer.toString(value);
        for (int k = s.length(); k < width; k++) {
            out.append(padChar);
        }
        out.append(s);
    }

    /** What a {@link LongCommand} returns for an absent value (printed as {@code -}). */
    private static final long ABSENT = Long.MIN_VALUE;

    /** A command whose value is a number ({@link #ABSENT} when absent): appended without boxing. */
    @FunctionalInterface
    private interface LongCommand extends Function<StreamInfo, Object>, ToLongFunction<StreamInfo> {
        @Override
        default Object apply(StreamInfo e) {
            long v = applyAsLong(e);
            return v == ABSENT ? null : (Object) v;
        }
    }

    /** A command that can append its text itself, without making a String. */
    private interface Appending extends Function<StreamInfo, Object> {
        /** Appends the value's text, or {@code -} when absent. */
        void appendTo(StreamInfo e, StringBuilder out);
    }

    /** An address operator: IPv4 addresses are written digit by digit, others as {@link #address}. */
    private static final class AddressCommand implements Appending {
        private final Function<StreamInfo, InetSocketAddress> source;
        private final boolean withPort;

        AddressCommand(Function<StreamInfo, InetSocketAddress> source, boolean withPort) {
            this.source = source;
            this.withPort = withPort;
        }

        @Override
        public Object apply(StreamInfo e) {
            return address(source.apply(e), withPort);
        }

        @Override
        public void appendTo(StreamInfo e, StringBuilder out) {
            InetSocketAddress a = source.apply(e);
            if (a == null) {
                out.append('-');
                return;
            }
            if (!(a.getAddress() instanceof Inet4Address)) {
                out.append(address(a, withPort));
                return;
            }
            byte[] ip = a.getAddress().getAddress();
            out.append(ip[0] & 0xff).append('.').append(ip[1] & 0xff).append('.').append(ip[2] & 0xff).append('.')
                    .append(ip[3] & 0xff);
            if (withPort) {
                out.append(':').append(a.getPort());
            }
        }
    }

    /**
     * {@code %START_TIME(fmt)%}: the format is split at parse time into the parts that change at most once a
     * second (formatted once per second and shared by all threads as an immutable snapshot) and the fractions
     * of a second ({@code %f}, {@code %3f}, {@code %E3S}'s digits), written per entry.
     */
    private static final class StartTime implements Appending {
        /** strftime formats without fractions; {@code seconds.length == fractions.length + 1}. */
        private final String[] seconds;
        /** Per fraction: its digits (1 to 9), plus 10 when it is written after a {@code '.'}. */
        private final int[] fractions;
        private volatile Second last;

        StartTime(String fmt) {
            List<String> segs = new ArrayList<>();
            List<Integer> fracs = new ArrayList<>();
            StringBuilder seg = new StringBuilder();
            int n = fmt.length();
            int i = 0;
            // Tokenizes as strftime does, so that each segment formats to exactly the text it had in the whole.
            while (i < n) {
                char c = fmt.charAt(i++);
                if (c != '%' || i >= n) {
                    seg.append(c);
                    continue;
                }
                char s = fmt.charAt(i++);
                int fraction = -1;
                if (s >= '1' && s <= '9' && i < n && fmt.charAt(i) == 'f') {
                    fraction = s - '0';
                    i++;
                } else if (s == 'f') {
                    fraction = 9;
                } else if (s == 'E' && i < n) {
                    int j = i;
                    int digits = 9;
                    if (fmt.charAt(j) >= '0' && fmt.charAt(j) <= '9') {
                        digits = fmt.charAt(j) - '0';
                        j++;
                    }
                    if (j < n && fmt.charAt(j) == 'S') {
                        seg.append("%S");
                        i = j + 1;
                        if (digits == 0) {
                            continue;
                        }
                        fraction = 10 + digits;
                    }
                }
                if (fraction < 0) {
                    seg.append('%').append(s);
                    continue;
                }
                segs.add(seg.toString());
                seg.setLength(0);
                fracs.add(fraction);
            }
            segs.add(seg.toString());
            seconds = segs.toArray(new String[0]);
            fractions = fracs.stream().mapToInt(Integer::intValue).toArray();
        }

        @Override
        public Object apply(StreamInfo e) {
            long ms = e.startTimeMillis();
            if (ms <= 0) {
                return null;
            }
            StringBuilder out = new StringBuilder(32);
            append(ms, out);
            return out.toString();
        }

        @Override
        public void appendTo(StreamInfo e, StringBuilder out) {
            long ms = e.startTimeMillis();
            if (ms <= 0) {
                out.append('-');
                return;
            }
            append(ms, out);
        }

        private void append(long ms, StringBuilder out) {
            long second = Math.floorDiv(ms, 1000L);
            Second t = last;
            if (t == null || t.second != second) {
                String[] texts = new String[seconds.length];
                for (int k = 0; k < texts.length; k++) {
                    texts[k] = strftime(seconds[k], second * 1000L);
                }
                t = new Second(second, texts);
                last = t;
            }
            int millis = (int) Math.floorMod(ms, 1000L);
            for (int k = 0; k < fractions.length; k++) {
                out.append(t.texts[k]);
                int digits = fractions[k];
                if (digits > 10) {
                    out.append('.');
                    digits -= 10;
                }
                // The nine digits of the nanoseconds: three of the millisecond, then zeros.
                for (int d = 0; d < digits; d++) {
                    out.append(d == 0 ? (char) ('0' + millis / 100) : d == 1 ? (char) ('0' + millis / 10 % 10)
                            : d == 2 ? (char) ('0' + millis % 10) : '0');
                }
            }
            out.append(t.texts[fractions.length]);
        }
    }

    /** The texts of a {@link StartTime}'s segments for one second. */
    private static final class Second {
        final long second;
        final String[] texts;

        Second(long second, String[] texts) {
            this.second = second;
            this.texts = texts;
        }
    }

    private static final class Part {
        final String literal;
        final Function<StreamInfo, Object> command;
        final int maxLength;

        Part(String literal, Function<StreamInfo, Object> command, int maxLength) {
            this.literal = literal;
            this.command = command;
            this.maxLength = maxLength;
        }

        Object value(StreamInfo entry) {
            Object v = command.apply(entry);
            if (maxLength >= 0 && v instanceof String && ((String) v).length() > maxLength) {
                return ((String) v).substring(0, maxLength);
            }
            return v;
        }

        void appendTo(StreamInfo entry, StringBuilder out) {
            if (literal != null) {
                out.append(literal);
            } else if (command instanceof LongCommand) {
                // Numbers are never truncated (as value()).
                long v = ((LongCommand) command).applyAsLong(entry);
                if (v == ABSENT) {
                    out.append('-');
                } else {
                    out.append(v);
                }
            } else if (maxLength < 0 && command instanceof Appending) {
                ((Appending) command).appendTo(entry, out);
            } else {
                Object v = value(entry);
                out.append(v == null ? "-" : v.toString());
            }
        }
    }
}

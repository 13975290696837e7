package io.jmesh.proxy.network.http;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.LocalReplyConfig;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.ResponseMapper;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.accesslog.AccessLogFormatter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Builds every locally generated response of an HTTP connection manager in one place, as Envoy's
 * {@code Http::Utility::sendLocalReply} with {@code LocalReply::rewrite}:
 * <ol>
 * <li>the caller's header changes apply;</li>
 * <li>the first of the HCM's {@code local_reply_config.mappers} whose {@code filter} matches (on the
 *     status, the request headers, the response flags) rewrites {@code status_code}, {@code body},
 *     {@code headers_to_add} and {@code body_format_override}; then {@code body_format} (or the override)
 *     formats the body, where {@code %LOCAL_REPLY_BODY%} is the body text;</li>
 * <li>a gRPC request ({@code content-type: application/grpc}, {@code application/grpc+...} or
 *     {@code application/grpc;...}), or a caller that names a gRPC status, gets a trailers-only gRPC
 *     response: {@code :status 200}, {@code content-type: application/grpc}, {@code grpc-status} (the
 *     caller's, else Envoy's HTTP to gRPC mapping: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 *     404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, others UNKNOWN) and {@code grpc-message} (the body,
 *     percent-encoded as gRPC requires); other requests get the body as {@code text/plain} with its
 *     {@code content-length}.</li>
 * </ol>
 * Supported mapper filters: {@code status_code_filter}, {@code header_filter}, {@code response_flag_filter},
 * {@code and_filter}, {@code or_filter}, {@code not_health_check_filter}; another is refused by name.
 * Immutable and thread-safe.
 */
public final class LocalReply {

    /** No {@code local_reply_config}: Envoy's plain replies. */
    public static final LocalReply DEFAULT = new LocalReply(List.of(), null);

    private final List<Mapper> mappers;
    private final BodyFormat bodyFormat;

    private LocalReply(List<Mapper> mappers, BodyFormat bodyFormat) {
        this.mappers = mappers;
        this.bodyFormat = bodyFormat;
    }

    /** A built reply: headers (status included) and body (null for trailers-only gRPC replies). */
    public static final class Reply {
        public final HttpResponse headers;
        public final ByteBuf body;

        Reply(HttpResponse headers, ByteBuf body) {
            this.headers = headers;
            this.body = body;
        }
    }

    /** Validates {@code local_reply_config}; {@code path} prefixes error messages. */
    @SuppressWarnings("deprecation") // HeaderValueOption.append and text_format: legacy fields Envoy still honours
    public static LocalReply create(LocalReplyConfig config, String path) throws ConfigException {
        List<Mapper> mappers = new ArrayList<>();
        for (int i = 0; i < config.getMappersCount(); i++) {
            ResponseMapper m = config.getMappers(i);
            String p = path + ".mappers[" + i + "]";
            if (!m.hasFilter()) {
                throw new ConfigException(p + ".filter: null (expected: an access log filter)");
            }
            Match match = match(m.getFilter(), p + ".filter");
            int status = -1;
            if (m.hasStatusCode()) {
                status = m.getStatusCode().getValue();
                if (status < 200 || status >= 600) {
                    throw new ConfigException(p + ".status_code: " + status + " (expected: 200..599)");
                }
            }
            String body = null;
            if (m.hasBody()) {
                switch (m.getBody().getSpecifierCase()) {
                    case INLINE_STRING:
                        body = m.getBody().getInlineString();
                        break;
                    case INLINE_BYTES:
                        body = m.getBody().getInlineBytes().toStringUtf8();
                        break;
                    default:
                        throw new ConfigException(p + ".body: " + m.getBody().getSpecifierCase()
                                + " (expected: inline_string or inline_bytes)");
                }
            }
            BodyFormat override = m.hasBodyFormatOverride()
                    ? BodyFormat.from(m.getBodyFormatOverride(), p + ".body_format_override") : null;
            List<String[]> headers = new ArrayList<>();
            for (int j = 0; j < m.getHeadersToAddCount(); j++) {
                HeaderValueOption o = m.getHeadersToAdd(j);
                String name = o.getHeader().getKey().toLowerCase(Locale.ROOT);
                if (name.isEmpty() || name.charAt(0) == ':') {
                    throw new ConfigException(p + ".headers_to_add[" + j + "].header.key: \"" + o.getHeader().getKey()
                            + "\" (expected: a header name that is not a pseudo-header)");
                }
                boolean append = o.hasAppend() ? o.getAppend().getValue()
                        : o.getAppendAction() == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
                headers.add(new String[] {name, o.getHeader().getValue(), append ? "a" : "o"});
            }
            mappers.add(new Mapper(match, status, body, override, List.copyOf(headers)));
        }
        BodyFormat format = config.hasBodyFormat() ? BodyFormat.from(config.getBodyFormat(), path + ".body_format") : null;
        return new LocalReply(List.copyOf(mappers), format);
    }

    /**
     * Builds the reply to {@code request} (may be null) with {@code status} and {@code body}; sets the stream's
     * response code to the status that is sent.
     */
    public Reply build(HttpRequest request, int status, String body, Consumer<HttpHeaders> modifyHeaders,
                       int grpcStatus, StreamInfo info) {
        HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
        HttpHeaders h = resp.headers();
        if (modifyHeaders != null) {
            modifyHeaders.accept(h);
        }
        int code = status;
        String text = body == null ? "" : body;
        String contentType = HttpHeaderValues.TEXT_PLAIN.toString();
        BodyFormat format = bodyFormat;
        info.responseCode(code);
        for (Mapper m : mappers) {
            if (!m.match.test(info, request)) {
                continue;
            }
            for (String[] add : m.headers) {
                if (add[2].equals("a")) {
                    h.add(add[0], add[1]);
                } else {
                    h.set(add[0], add[1]);
                }
            }
            if (m.status > 0) {
                code = m.status;
                info.responseCode(code);
            }
            if (m.body != null) {
                text = m.body;
            }
            if (m.bodyFormat != null) {
                format = m.bodyFormat;
            }
            break;
        }
        if (format != null) {
            text = format.format(info, text);
            contentType = format.contentType;
        }
        boolean grpc = grpcStatus >= 0 || isGrpc(request);
        if (grpc) {
            resp.setStatus(HttpResponseStatus.OK);
            h.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
            if (!h.contains("grpc-status")) {
                h.set("grpc-status", Integer.toString(grpcStatus >= 0 ? grpcStatus : httpToGrpcStatus(code)));
            }
            if (text.endsWith("\n")) {
                text = text.substring(0, text.length() - 1);
            }
            if (!text.isEmpty()) {
                h.set("grpc-message", percentEncode(text));
            }
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
            info.responseCode(200);
            return new Reply(resp, null);
        }
        resp.setStatus(HttpResponseStatus.valueOf(code));
        ByteBuf content = text.isEmpty() ? Unpooled.EMPTY_BUFFER : Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        if (!text.isEmpty() && !h.contains(HttpHeaderNames.CONTENT_TYPE)) {
            h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        return new Reply(resp, content);
    }

    /** Whether the request carries a gRPC content type (Envoy's {@code Grpc::Common::isGrpcRequestHeaders}). */
    public static boolean isGrpc(HttpRequest request) {
        if (request == null) {
            return false;
        }
        String ct = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (ct == null || !ct.regionMatches(true, 0, "application/grpc", 0, 16)) {
            return false;
        }
        return ct.length() == 16 || ct.charAt(16) == '+' || ct.charAt(16) == ';';
    }

    /** Envoy's {@code Grpc::Utility::httpToGrpcStatus}. */
    public static int httpToGrpcStatus(int httpStatus) {
        switch (httpStatus) {
            case 400:
                return 13; // INTERNAL
            case 401:
                return 16; // UNAUTHENTICATED
            case 403:
                return 7; // PERMISSION_DENIED
            case 404:
                return 12; // UNIMPLEMENTED
            case 429:
            case 502:
            case 503:
            case 504:
                return 14; // UNAVAILABLE
            default:
                return 2; // UNKNOWN
        }
    }

    /**
     * gRPC's percent-encoding of {@code grpc-message}: bytes outside 0x20..0x7e, '%', and a space at either end
     * become %XX.
     */
    static String percentEncode(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        StringBuilder b = null;
        for (int i = 0; i < bytes.length; i++) {
            int c = bytes[i] & 0xff;
            // A space at either end is encoded too: an HTTP field value may not start or end with one.
            if (c < 0x20 || c > 0x7e || c == '%' || (c == ' ' && (i == 0 || i == bytes.length - 1))) {
                if (b == null) {
                    b = new StringBuilder(bytes.length + 16);
                    b.append(new String(bytes, 0, i, StandardCharsets.UTF_8));
                }
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            } else if (b != null) {
                b.append((char) c);
            }
        }
        return b == null ? s : b.toString();
    }

    // ------------------------------------------------------------------ config

    private interface Match {
        boolean test(StreamInfo info, HttpRequest request);
    }

    private static Match match(AccessLogFilter f, String path) throws ConfigException {
        switch (f.getFilterSpecifierCase()) {
            case STATUS_CODE_FILTER: {
                ComparisonFilter c = f.getStatusCodeFilter().getComparison();
                long v = c.getValue().getDefaultValue();
                switch (c.getOp()) {
                    case EQ:
                        return (i, r) -> i.responseCode() == v;
                    case GE:
                        return (i, r) -> i.responseCode() >= v;
                    case LE:
                        return (i, r) -> i.responseCode() <= v;
                    default:
                        throw new ConfigException(path + ".status_code_filter.comparison.op: " + c.getOp()
                                + " (expected: EQ, GE or LE)");
                }
            }
            case HEADER_FILTER:
                return header(f.getHeaderFilter().getHeader(), path + ".header_filter.header");
            case RESPONSE_FLAG_FILTER: {
                List<ResponseFlag> flags = new ArrayList<>();
                for (String code : f.getResponseFlagFilter().getFlagsList()) {
                    ResponseFlag flag = null;
                    for (ResponseFlag candidate : ResponseFlag.values()) {
                        if (candidate.code().equals(code)) {
                            flag = candidate;
                        }
                    }
                    if (flag == null) {
                        throw new ConfigException(path + ".response_flag_filter.flags: " + code
                                + " (expected: an Envoy response flag such as UH, UF, NR)");
                    }
                    flags.add(flag);
                }
                if (flags.isEmpty()) {
                    return (i, r) -> !i.responseFlags().isEmpty();
                }
                return (i, r) -> flags.stream().anyMatch(i.responseFlags()::contains);
            }
            case AND_FILTER: {
                List<Match> all = new ArrayList<>();
                for (int k = 0; k < f.getAndFilter().getFiltersCount(); k++) {
                    all.add(match(f.getAndFilter().getFilters(k), path + ".and_filter.filters[" + k + "]"));
                }
                return (i, r) -> all.stream().allMatch(m -> m.test(i, r));
            }
            case OR_FILTER: {
                List<Match> any = new ArrayList<>();
                for (int k = 0; k < f.getOrFilter().getFiltersCount(); k++) {
                    any.add(match(f.getOrFilter().getFilters(k), path + ".or_filter.filters[" + k + "]"));
                }
                return (i, r) -> any.stream().anyMatch(m -> m.test(i, r));
            }
            case NOT_HEALTH_CHECK_FILTER:
                return (i, r) -> true;
            default:
                throw new ConfigException(path + ": " + f.getFilterSpecifierCase().name().toLowerCase(Locale.ROOT)
                        + " (expected: status_code_filter, header_filter, response_flag_filter, and_filter, or_filter"
                        + " or not_health_check_filter)");
        }
    }

    @SuppressWarnings("deprecation") // exact_match etc. are legacy fields Envoy still honours
    private static Match header(HeaderMatcher m, String path) throws ConfigException {
        String name = m.getName().toLowerCase(Locale.ROOT);
        if (name.isEmpty()) {
            throw new ConfigException(path + ".name: \"\" (expected: a header name)");
        }
        String lookup = name.equals(":authority") ? "host" : name;
        boolean invert = m.getInvertMatch();
        java.util.function.Predicate<String> p;
        switch (m.getHeaderMatchSpecifierCase()) {
            case PRESENT_MATCH: {
                boolean present = m.getPresentMatch();
                p = v -> (v != null) == present;
                break;
            }
            case EXACT_MATCH: {
                String e = m.getExactMatch();
                p = v -> e.equals(v);
                break;
            }
            case PREFIX_MATCH: {
                String e = m.getPrefixMatch();
                p = v -> v != null && v.startsWith(e);
                break;
            }
            case SUFFIX_MATCH: {
                String e = m.getSuffixMatch();
                p = v -> v != null && v.endsWith(e);
                break;
            }
            case CONTAINS_MATCH: {
                String e = m.getContainsMatch();
                p = v -> v != null && v.contains(e);
                break;
            }
            case STRING_MATCH: {
                var sm = m.getStringMatch();
                String e;
                java.util.function.BiPredicate<String, String> op;
                switch (sm.getMatchPatternCase()) {
                    case EXACT: e = sm.getExact(); op = String::equals; break;
                    case PREFIX: e = sm.getPrefix(); op = String::startsWith; break;
                    case SUFFIX: e = sm.getSuffix(); op = String::endsWith; break;
                    case CONTAINS: e = sm.getContains(); op = String::contains; break;
                    default:
                        throw new ConfigException(path + ".string_match: " + sm.getMatchPatternCase()
                                + " (expected: exact, prefix, suffix or contains)");
                }
                boolean ic = sm.getIgnoreCase();
                String expected = ic ? e.toLowerCase(Locale.ROOT) : e;
                p = v -> v != null && op.test(ic ? v.toLowerCase(Locale.ROOT) : v, expected);
                break;
            }
            default:
                throw new ConfigException(path + ": " + m.getHeaderMatchSpecifierCase()
                        + " (expected: present_match, exact/prefix/suffix/contains_match or string_match)");
        }
        return (i, r) -> {
            String v = null;
            if (r != null) {
                v = switch (lookup) {
                    case ":method" -> r.method().name();
                    case ":path" -> r.uri();
                    default -> r.headers().getAll(lookup).isEmpty() ? null : String.join(",", r.headers().getAll(lookup));
                };
            }
            return p.test(v) != invert;
        };
    }

    private static final class Mapper {
        final Match match;
        final int status;
        final String body;
        final BodyFormat bodyFormat;
        final List<String[]> headers;

        Mapper(Match match, int status, String body, BodyFormat bodyFormat, List<String[]> headers) {
            this.match = match;
            this.status = status;
            this.body = body;
            this.bodyFormat = bodyFormat;
            this.headers = headers;
        }
    }

    /** A {@code SubstitutionFormatString} for bodies: text, or JSON with string (or nested) values. */
    private static final class BodyFormat {
        static final String LOCAL_REPLY_BODY = "%LOCAL_REPLY_BODY%";
        final List<AccessLogFormatter> textParts; // split at %LOCAL_REPLY_BODY%
        final Struct json;
        final List<Object> jsonCompiled;
        final String contentType;

        private BodyFormat(List<AccessLogFormatter> textParts, Struct json, List<Object> jsonCompiled,
                           String contentType) {
            this.textParts = textParts;
            this.json = json;
            this.jsonCompiled = jsonCompiled;
            this.contentType = contentType;
        }

        @SuppressWarnings("deprecation") // text_format: a legacy field Envoy still honours
        static BodyFormat from(SubstitutionFormatString f, String path) throws ConfigException {
            String ct = f.getContentType();
            switch (f.getFormatCase()) {
                case TEXT_FORMAT:
                    return new BodyFormat(split(f.getTextFormat(), path + ".text_format"), null, null,
                            ct.isEmpty() ? "text/plain" : ct);
                case TEXT_FORMAT_SOURCE:
                    if (!f.getTextFormatSource().hasInlineString()) {
                        throw new ConfigException(path + ".text_format_source: " + f.getTextFormatSource().getSpecifierCase()
                                + " (expected: inline_string)");
                    }
                    return new BodyFormat(split(f.getTextFormatSource().getInlineString(), path + ".text_format_source"),
                            null, null, ct.isEmpty() ? "text/plain" : ct);
                case JSON_FORMAT: {
                    List<Object> compiled = new ArrayList<>();
                    compile(f.getJsonFormat(), path + ".json_format", compiled);
                    return new BodyFormat(null, f.getJsonFormat(), compiled, ct.isEmpty() ? "application/json" : ct);
                }
                default:
                    throw new ConfigException(path + ": " + f.getFormatCase()
                            + " (expected: text_format, text_format_source or json_format)");
            }
        }

        private static void compile(Struct s, String path, List<Object> out) throws ConfigException {
            for (var e : s.getFieldsMap().entrySet()) {
                Value v = e.getValue();
                if (v.hasStructValue()) {
                    compile(v.getStructValue(), path + "." + e.getKey(), out);
                } else if (v.hasStringValue()) {
                    out.add(split(v.getStringValue(), path + "." + e.getKey()));
                } else {
                    out.add(null);
                }
            }
        }

        private static List<AccessLogFormatter> split(String format, String path) throws ConfigException {
            List<AccessLogFormatter> parts = new ArrayList<>();
            int from = 0;
            while (true) {
                int at = format.indexOf(LOCAL_REPLY_BODY, from);
                String piece = at < 0 ? format.substring(from) : format.substring(from, at);
                try {
                    parts.add(AccessLogFormatter.parse(piece));
                } catch (ConfigException e) {
                    throw e.under(path);
                }
                if (at < 0) {
                    return List.copyOf(parts);
                }
                from = at + LOCAL_REPLY_BODY.length();
            }
        }

        private static String render(List<AccessLogFormatter> parts, StreamInfo info, String body) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < parts.size(); i++) {
                if (i > 0) {
                    b.append(body);
                }
                b.append(parts.get(i).format(info));
            }
            return b.toString();
        }

        String format(StreamInfo info, String body) {
            if (textParts != null) {
                return render(textParts, info, body);
            }
            StringBuilder b = new StringBuilder();
            int[] next = {0};
            json(json, info, body, b, next);
            return b.append('\n').toString();
        }

        @SuppressWarnings("unchecked")
        private void json(Struct s, StreamInfo info, String body, StringBuilder b, int[] next) {
            b.append('{');
            boolean first = true;
            for (var e : s.getFieldsMap().entrySet()) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                quote(b, e.getKey());
                b.append(':');
                Value v = e.getValue();
                if (v.hasStructValue()) {
                    json(v.getStructValue(), info, body, b, next);
                    continue;
                }
                Object compiled = jsonCompiled.get(next[0]++);
                if (compiled == null) {
                    b.append(v.hasNumberValue() ? Double.toString(v.getNumberValue())
                            : v.hasBoolValue() ? Boolean.toString(v.getBoolValue()) : "null");
                } else {
                    quote(b, render((List<AccessLogFormatter>) compiled, info, body));
                }
            }
            b.append('}');
        }

        private static void quote(StringBuilder b, String s) {
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"': b.append("\\\""); break;
                    case '\\': b.append("\\\\"); break;
                    case '\n': b.append("\\n"); break;
                    case '\r': b.append("\\r"); break;
                    case '\t': b.append("\\t"); break;
                    default:
                        if (c < 0x20) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                }
            }
            b.append('"');
        }
    }

}

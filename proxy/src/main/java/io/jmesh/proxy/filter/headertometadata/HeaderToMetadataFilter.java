package io.jmesh.proxy.filter.headertometadata;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamFilterCallbacks;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;

/**
 * The filter of one stream, as Envoy's {@code HeaderToMetadataFilter}: request rules run on the request headers,
 * response rules on the response headers. For each rule, a present header (its first value) or cookie writes
 * {@code on_header_present} (its {@code value} if set, else the header value, rewritten by
 * {@code regex_value_rewrite}); a missing one writes {@code on_header_missing}; {@code remove} then removes the
 * header. A value is decoded from base64 when {@code encode: BASE64}, then written as a string, a number
 * ({@code NUMBER}: skipped when not a number) or a serialized {@code google.protobuf.Value} ({@code PROTOBUF_VALUE}:
 * skipped when it does not parse). Empty values and values of 8 KiB or more are skipped, as in Envoy.
 */
final class HeaderToMetadataFilter implements HttpFilter {

    /** Envoy's {@code MAX_HEADER_VALUE_LEN}. */
    static final int MAX_VALUE_LENGTH = 8 * 1024;

    private final HeaderToMetadataConfig config;
    private StreamDecoderFilterCallbacks decoder;
    private StreamEncoderFilterCallbacks encoder;

    HeaderToMetadataFilter(HeaderToMetadataConfig config) {
        this.config = config;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {
        this.encoder = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        if (!config.requestRules.isEmpty()) {
            apply(config.requestRules, request.headers(), decoder);
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (!config.responseRules.isEmpty()) {
            apply(config.responseRules, response.headers(), encoder);
        }
        return FilterHeadersStatus.CONTINUE;
    }

    private static void apply(List<HeaderToMetadataConfig.Rule> rules, HttpHeaders headers, StreamFilterCallbacks cb) {
        Map<String, Struct.Builder> out = new LinkedHashMap<>();
        for (HeaderToMetadataConfig.Rule r : rules) {
            String value = r.header() != null ? headers.get(r.header()) : cookie(headers, r.cookie());
            if (value != null && r.onPresent() != null) {
                HeaderToMetadataConfig.KeyValue kv = r.onPresent();
                String v = !kv.value().isEmpty() ? kv.value()
                        : kv.rewrite() != null ? kv.rewrite().apply(value) : value;
                add(out, kv, v);
            } else if (value == null && r.onMissing() != null) {
                add(out, r.onMissing(), r.onMissing().value());
            }
            if (r.remove()) {
                headers.remove(r.header());
            }
        }
        out.forEach((ns, s) -> cb.streamInfo().setDynamicMetadata(ns, s.build()));
    }

    private static String cookie(HttpHeaders headers, String name) {
        for (String h : headers.getAll(HttpHeaderNames.COOKIE)) {
            for (Cookie c : ServerCookieDecoder.LAX.decodeAll(h)) {
                if (c.name().equals(name)) {
                    return c.value();
                }
            }
        }
        return null;
    }

    private static void add(Map<String, Struct.Builder> out, HeaderToMetadataConfig.KeyValue kv, String value) {
        if (value.isEmpty() || value.length() >= MAX_VALUE_LENGTH) {
            return;
        }
        byte[] raw = null;
        if (kv.base64()) {
            try {
                raw = Base64.getDecoder().decode(value);
            } catch (IllegalArgumentException e) {
                return;
            }
            if (raw.length == 0) {
                return;
            }
            value = new String(raw, StandardCharsets.UTF_8);
        }
        Value v;
        switch (kv.type()) {
            case NUMBER:
                try {
                    v = Value.newBuilder().setNumberValue(Double.parseDouble(value.trim())).build();
                } catch (NumberFormatException e) {
                    return;
                }
                break;
            case PROTOBUF_VALUE:
                try {
                    v = Value.parseFrom(raw != null ? raw : value.getBytes(StandardCharsets.ISO_8859_1));
                } catch (InvalidProtocolBufferException e) {
                    return;
                }
                break;
            case STRING:
            default:
                v = Value.newBuilder().setStringValue(value).build();
                break;
        }
        out.computeIfAbsent(kv.namespace(), k -> Struct.newBuilder()).putFields(kv.key(), v);
    }

}

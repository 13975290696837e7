package io.jmesh.proxy.filter.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * Literal {@code HeaderValueOption}s of a rate limit filter ({@code response_headers_to_add},
 * {@code request_headers_to_add_when_not_enforced}): each sets its header, or appends with {@code append: true} /
 * {@code append_action: APPEND_IF_EXISTS_OR_ADD}. Command operators ({@code %...%}) are refused by name. Immutable.
 */
final class ResponseHeaders {

    static final ResponseHeaders NONE = new ResponseHeaders(List.of());

    private record One(String name, String value, boolean append) {}

    private final List<One> headers;

    private ResponseHeaders(List<One> headers) {
        this.headers = headers;
    }

    @SuppressWarnings("deprecation") // append: Envoy still honours it
    static ResponseHeaders from(List<HeaderValueOption> options, String path) throws ConfigException {
        if (options.isEmpty()) {
            return NONE;
        }
        if (options.size() > 10) {
            throw new ConfigException(path + ": " + options.size() + " headers (expected: at most 10)");
        }
        List<One> out = new ArrayList<>();
        for (int i = 0; i < options.size(); i++) {
            HeaderValueOption o = options.get(i);
            String p = path + '[' + i + "].header";
            String name = o.getHeader().getKey().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) {
                throw new ConfigException(p + ".key: \"\" (expected: a header name)");
            }
            String value = o.getHeader().getValue();
            if (value.indexOf('%') >= 0) {
                throw new ConfigException(p + ".value: " + value + " (expected: a literal value; command operators"
                        + " are not supported here)");
            }
            boolean append = o.hasAppend() ? o.getAppend().getValue()
                    : o.getAppendAction() == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
            out.add(new One(name, value, append));
        }
        return new ResponseHeaders(List.copyOf(out));
    }

    boolean isEmpty() {
        return headers.isEmpty();
    }

    void apply(HttpHeaders target) {
        for (One h : headers) {
            if (h.append) {
                target.add(h.name, h.value);
            } else {
                target.set(h.name, h.value);
            }
        }
    }
}

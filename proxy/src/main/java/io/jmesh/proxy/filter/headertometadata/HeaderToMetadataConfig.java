package io.jmesh.proxy.filter.headertometadata;

import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.extensions.filters.http.header_to_metadata.v3.Config;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.Regexes;

/** A validated {@link Config}: its request and response rules, compiled. Immutable. */
final class HeaderToMetadataConfig {

    /** Envoy's default metadata namespace: the filter's name. */
    static final String DEFAULT_NAMESPACE = "envoy.filters.http.header_to_metadata";

    /** One {@code KeyValuePair}: where and how a value is written. */
    record KeyValue(String namespace, String key, String value, Regexes.Substitution rewrite, Config.ValueType type,
                    boolean base64) {}

    /** One {@code Rule}: a header (lower case) or a cookie, what to do when present and when missing. */
    record Rule(String header, String cookie, KeyValue onPresent, KeyValue onMissing, boolean remove) {}

    final List<Rule> requestRules;
    final List<Rule> responseRules;

    private HeaderToMetadataConfig(List<Rule> requestRules, List<Rule> responseRules) {
        this.requestRules = requestRules;
        this.responseRules = responseRules;
    }

    static HeaderToMetadataConfig from(Config c) throws ConfigException {
        if (c.getRequestRulesCount() == 0 && c.getResponseRulesCount() == 0) {
            throw new ConfigException("request_rules: [] (expected: request_rules or response_rules, at least one)");
        }
        return new HeaderToMetadataConfig(rules(c.getRequestRulesList(), "request_rules"),
                rules(c.getResponseRulesList(), "response_rules"));
    }

    private static List<Rule> rules(List<Config.Rule> in, String path) throws ConfigException {
        List<Rule> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            Config.Rule r = in.get(i);
            String at = path + "[" + i + "]";
            boolean header = !r.getHeader().isEmpty();
            boolean cookie = !r.getCookie().isEmpty();
            if (header == cookie) {
                throw new ConfigException(at + ": " + (header ? "header and cookie" : "neither header nor cookie")
                        + " (expected: one of header or cookie)");
            }
            if (cookie && r.getRemove()) {
                throw new ConfigException(at + ".remove: true (expected: false with cookie; a cookie cannot be removed)");
            }
            if (!r.hasOnHeaderPresent() && !r.hasOnHeaderMissing()) {
                throw new ConfigException(at + ": (expected: on_header_present or on_header_missing, at least one)");
            }
            KeyValue present = r.hasOnHeaderPresent()
                    ? keyValue(r.getOnHeaderPresent(), at + ".on_header_present") : null;
            KeyValue missing = null;
            if (r.hasOnHeaderMissing()) {
                missing = keyValue(r.getOnHeaderMissing(), at + ".on_header_missing");
                if (missing.value().isEmpty()) {
                    throw new ConfigException(at + ".on_header_missing.value: \"\" (expected: a value to write when"
                            + " the header is missing)");
                }
                if (missing.rewrite() != null) {
                    throw new ConfigException(at + ".on_header_missing.regex_value_rewrite: (expected: unset; there"
                            + " is no header value to rewrite)");
                }
            }
            out.add(new Rule(header ? r.getHeader().toLowerCase(java.util.Locale.ROOT) : null,
                    cookie ? r.getCookie() : null, present, missing, r.getRemove()));
        }
        return List.copyOf(out);
    }

    private static KeyValue keyValue(Config.KeyValuePair kv, String path) throws ConfigException {
        if (kv.getKey().isEmpty()) {
            throw new ConfigException(path + ".key: \"\" (expected: a non-empty metadata key)");
        }
        if (kv.getTypeValue() < 0 || kv.getType() == Config.ValueType.UNRECOGNIZED) {
            throw new ConfigException(path + ".type: " + kv.getTypeValue()
                    + " (expected: STRING, NUMBER or PROTOBUF_VALUE)");
        }
        if (kv.getEncode() == Config.ValueEncode.UNRECOGNIZED) {
            throw new ConfigException(path + ".encode: " + kv.getEncodeValue() + " (expected: NONE or BASE64)");
        }
        Regexes.Substitution rewrite = null;
        if (kv.hasRegexValueRewrite()) {
            if (!kv.getValue().isEmpty()) {
                throw new ConfigException(path + ".regex_value_rewrite: (expected: unset when value is set)");
            }
            rewrite = Regexes.Substitution.from(kv.getRegexValueRewrite(), path + ".regex_value_rewrite");
        }
        String ns = kv.getMetadataNamespace().isEmpty() ? DEFAULT_NAMESPACE : kv.getMetadataNamespace();
        return new KeyValue(ns, kv.getKey(), kv.getValue(), rewrite, kv.getType(),
                kv.getEncode() == Config.ValueEncode.BASE64);
    }
}

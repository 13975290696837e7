package io.jmesh.proxy.telemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import io.envoyproxy.envoy.config.metrics.v3.StatsConfig;
import io.envoyproxy.envoy.config.metrics.v3.TagSpecifier;
import io.jmesh.proxy.config.ConfigException;

/**
 * One of Envoy's tag extractors ({@code stats_config.stats_tags}): a regex over a flat stat name whose first capture
 * group is cut out of the name and whose second group (or the first, when there is one group) becomes the value of
 * tag {@link #tagName()}; {@code /stats/prometheus} prints the tag as a label (the name with {@code .} made
 * {@code _}). Immutable.
 *
 * @param tagName the tag's name, e.g. {@code envoy.cluster_name} or Istio's {@code cluster_name}
 * @param pattern the regex (RE2's POSIX classes such as {@code [:digit:]} are translated)
 */
public record TagExtractor(String tagName, Pattern pattern) {

    /**
     * Envoy's default tag extractors this proxy applies ({@code source/common/config/well_known_names.cc}), in
     * Envoy's order: first those that apply to any stat name, then those keyed by the name's first token.
     */
    public static final List<TagExtractor> ENVOY_DEFAULTS = List.of(
            of("envoy.response_code", "_rq(_(\\d{3}))$"),
            of("envoy.response_code_class", "_rq_((\\d))xx$"),
            of("envoy.http_conn_manager_prefix", "^(?:|listener(?=\\.).*?\\.)http\\.((.*?)\\.)"),
            of("envoy.listener_address", "^listener\\.(((?:[_.\\d]*|[_\\[\\]aAbBcCdDeEfF\\d]*))\\.)"),
            of("envoy.cluster_name", "^cluster\\.((.*?)\\.)"),
            of("envoy.tcp_prefix", "^tcp\\.((.*?)\\.)"));

    private static TagExtractor of(String name, String regex) {
        return new TagExtractor(name, Pattern.compile(regex));
    }

    /**
     * The extractors of a bootstrap's {@code stats_config}: its {@code stats_tags} (regex tags; a tag whose name
     * is one of Envoy's default names and has no regex uses the default regex) and, unless
     * {@code use_all_default_tags} is false, Envoy's defaults after them. {@code fixed_value} tags are refused.
     */
    public static List<TagExtractor> fromConfig(StatsConfig config, String path) throws ConfigException {
        List<TagExtractor> out = new ArrayList<>();
        for (int i = 0; i < config.getStatsTagsCount(); i++) {
            TagSpecifier t = config.getStatsTags(i);
            String at = path + ".stats_tags[" + i + "]";
            if (t.getTagName().isEmpty()) {
                throw new ConfigException(at + ".tag_name: \"\" (expected: a tag name)");
            }
            if (t.getTagValueCase() == TagSpecifier.TagValueCase.FIXED_VALUE) {
                throw new ConfigException(at + ".fixed_value: " + t.getFixedValue()
                        + " (expected: a regex; fixed_value tags are not supported)");
            }
            if (t.getTagValueCase() != TagSpecifier.TagValueCase.REGEX) {
                TagExtractor d = ENVOY_DEFAULTS.stream().filter(e -> e.tagName.equals(t.getTagName())).findFirst()
                        .orElseThrow(() -> new ConfigException(at + ".regex: unset (expected: a regex, or tag_name one"
                                + " of Envoy's default tags)"));
                out.add(d);
                continue;
            }
            try {
                out.add(new TagExtractor(t.getTagName(), Pattern.compile(translate(t.getRegex()))));
            } catch (PatternSyntaxException e) {
                throw new ConfigException(at + ".regex: " + t.getRegex() + " (expected: a valid regex: "
                        + e.getDescription() + ")");
            }
        }
        boolean defaults = !config.hasUseAllDefaultTags() || config.getUseAllDefaultTags().getValue();
        if (defaults) {
            out.addAll(ENVOY_DEFAULTS);
        }
        return List.copyOf(out);
    }

    /** RE2 accepts POSIX classes inside brackets ({@code [_.[:digit:]]}); Java spells them {@code \p{...}}. */
    static String translate(String re2) {
        return re2.replace("[:digit:]", "\\d").replace("[:alpha:]", "\\p{Alpha}").replace("[:alnum:]", "\\p{Alnum}")
                .replace("[:upper:]", "\\p{Upper}").replace("[:lower:]", "\\p{Lower}").replace("[:space:]", "\\s")
                .replace("[:xdigit:]", "\\p{XDigit}").replace("[:punct:]", "\\p{Punct}");
    }
}

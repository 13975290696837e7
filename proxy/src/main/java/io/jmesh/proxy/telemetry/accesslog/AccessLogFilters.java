package io.jmesh.proxy.telemetry.accesslog;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.cel.CelExpression;

/**
 * Envoy's access log {@code filter}s (config.accesslog.v3.AccessLogFilter): which finished requests a logger
 * writes. Supported: {@code extension_filter} {@value #CEL} (an {@code ExpressionFilter} in Istio's CEL subset,
 * see {@link CelExpression}; an expression that errs is false, as in Envoy), {@code status_code_filter} and
 * {@code duration_filter} (the {@code default_value}; runtime keys are not read), {@code response_flag_filter},
 * {@code and_filter}, {@code or_filter}. Any other filter is refused by name. Predicates are immutable and run on
 * event loops.
 */
public final class AccessLogFilters {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(AccessLogFilters.class);

    /** The name of Envoy's CEL access log filter, as istiod sends it. */
    public static final String CEL = "envoy.access_loggers.extension_filters.cel";

    private AccessLogFilters() {}

    /**
     * Builds the predicate of {@code filter}.
     *
     * @throws ConfigException with a path starting at {@code filter}
     */
    public static Predicate<StreamInfo> create(AccessLogFilter filter) throws ConfigException {
        return create(filter, "filter");
    }

    private static Predicate<StreamInfo> create(AccessLogFilter f, String path) throws ConfigException {
        switch (f.getFilterSpecifierCase()) {
            case EXTENSION_FILTER:
                return extension(f.getExtensionFilter(), path + ".extension_filter");
            case STATUS_CODE_FILTER: {
                ComparisonFilter c = f.getStatusCodeFilter().getComparison();
                long value = c.getValue().getDefaultValue();
                ComparisonFilter.Op op = comparison(c, path + ".status_code_filter.comparison");
                return info -> compare(op, info.responseCode(), value);
            }
            case DURATION_FILTER: {
                ComparisonFilter c = f.getDurationFilter().getComparison();
                long value = c.getValue().getDefaultValue();
                ComparisonFilter.Op op = comparison(c, path + ".duration_filter.comparison");
                return info -> info.durationMs() >= 0 && compare(op, info.durationMs(), value);
            }
            case RESPONSE_FLAG_FILTER: {
                List<String> names = f.getResponseFlagFilter().getFlagsList();
                Set<ResponseFlag> wanted = EnumSet.noneOf(ResponseFlag.class);
                for (int i = 0; i < names.size(); i++) {
                    ResponseFlag flag = ResponseFlag.ofCode(names.get(i));
                    if (flag == null) {
                        throw new ConfigException(path + ".response_flag_filter.flags[" + i + "]: " + names.get(i)
                                + " (expected: one of Envoy's short response flags)");
                    }
                    wanted.add(flag);
                }
                if (wanted.isEmpty()) {
                    return info -> !info.responseFlags().isEmpty();
                }
                return info -> {
                    for (ResponseFlag flag : info.responseFlags()) {
                        if (wanted.contains(flag)) {
                            return true;
                        }
                    }
                    return false;
                };
            }
            case AND_FILTER: {
                List<Predicate<StreamInfo>> all = list(f.getAndFilter().getFiltersList(), path + ".and_filter");
                return info -> {
                    for (Predicate<StreamInfo> p : all) {
                        if (!p.test(info)) {
                            return false;
                        }
                    }
                    return true;
                };
            }
            case OR_FILTER: {
                List<Predicate<StreamInfo>> any = list(f.getOrFilter().getFiltersList(), path + ".or_filter");
                return info -> {
                    for (Predicate<StreamInfo> p : any) {
                        if (p.test(info)) {
                            return true;
                        }
                    }
                    return false;
                };
            }
            default:
                throw new ConfigException(path + ": " + f.getFilterSpecifierCase().name().toLowerCase(java.util.Locale.ROOT)
                        + " (expected: extension_filter " + CEL + ", status_code_filter, duration_filter,"
                        + " response_flag_filter, and_filter or or_filter)");
        }
    }

    private static List<Predicate<StreamInfo>> list(List<AccessLogFilter> filters, String path)
            throws ConfigException {
        if (filters.size() < 2) {
            throw new ConfigException(path + ".filters: " + filters.size() + " filters (expected: at least 2)");
        }
        List<Predicate<StreamInfo>> out = new ArrayList<>();
        for (int i = 0; i < filters.size(); i++) {
            out.add(create(filters.get(i), path + ".filters[" + i + "]"));
        }
        return List.copyOf(out);
    }

    private static Predicate<StreamInfo> extension(ExtensionFilter ext, String path) throws ConfigException {
        String expressionType = EnvoyTypes.typeUrl(ExpressionFilter.getDescriptor());
        boolean typed = ext.hasTypedConfig();
        if (!(ext.getName().equals(CEL) && !typed) && !(typed && ext.getTypedConfig().getTypeUrl().equals(expressionType))) {
            throw new ConfigException(path + ": " + (typed ? ext.getTypedConfig().getTypeUrl() : ext.getName())
                    + " (expected: " + CEL + " with a " + expressionType + ")");
        }
        ExpressionFilter cel;
        try {
            cel = typed ? ext.getTypedConfig().unpack(ExpressionFilter.class) : ExpressionFilter.getDefaultInstance();
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(path + ".typed_config: " + e.getMessage() + " (expected: an ExpressionFilter)", e);
        }
        CelExpression expression;
        try {
            expression = CelExpression.parse(cel.getExpression());
        } catch (ConfigException e) {
            throw e.under(path + ".typed_config");
        }
        return expression::matches;
    }

    private static ComparisonFilter.Op comparison(ComparisonFilter c, String path) throws ConfigException {
        if (c.getOp() == ComparisonFilter.Op.UNRECOGNIZED) {
            throw new ConfigException(path + ".op: " + c.getOpValue() + " (expected: EQ, GE or LE)");
        }
        if (!c.getValue().getRuntimeKey().isEmpty()) {
            logger.warn("{}.value.runtime_key {}: runtime is not "
                    + "supported; default_value {} applies", path, c.getValue().getRuntimeKey(),
                    c.getValue().getDefaultValue());
        }
        return c.getOp();
    }

    private static boolean compare(ComparisonFilter.Op op, long actual, long value) {
        return switch (op) {
            case GE -> actual >= value;
            case LE -> actual <= value;
            default -> actual == value;
        };
    }
}

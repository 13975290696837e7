package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigError;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Runs every analyzer jmesh has over a set of objects, as {@code istioctl analyze} does. Objects that failed
 * jmesh's validation become IST0106 messages; the others are analyzed together. Stateless and thread-safe.
 */
public final class Analyzers {

    /** The annotation that suppresses codes on one object ({@code "IST0101,IST0132"} or {@code "*"}), Istio's. */
    public static final String SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress";

    private static final List<Analyzer> ALL = List.of(
            new DestinationHostAnalyzer(),
            new DestinationRuleAnalyzer(),
            new GatewayAnalyzer(),
            new ConflictingMeshGatewayHostsAnalyzer(),
            new VirtualServiceRulesAnalyzer(),
            new CaCertificateAnalyzer(),
            new ConflictingGatewayAnalyzer(),
            new ServiceEntryAddressesAnalyzer(),
            new SidecarDefaultSelectorAnalyzer(),
            new AuthorizationPoliciesAnalyzer());

    private Analyzers() {}

    /** The analyzers, in the order they run. */
    public static List<Analyzer> all() {
        return ALL;
    }

    /**
     * Analyzes {@code configs} and turns {@code errors} into IST0106. Messages come sorted by file, line and code;
     * messages about an object whose {@value #SUPPRESS_ANNOTATION} annotation names their code are left out.
     */
    public static List<Message> analyze(List<Config<?>> configs, List<ConfigError> errors) {
        return analyze(configs, errors, List.of());
    }

    /**
     * As {@link #analyze(List, List)}, and turns {@code warnings} into IST0133 (SchemaWarning): Istio's validation
     * warnings, and objects of {@code *.istio.io} kinds that jmesh does not implement (not applied).
     */
    public static List<Message> analyze(List<Config<?>> configs, List<ConfigError> errors,
                                        List<io.jmesh.discovery.config.ConfigWarning> warnings) {
        AnalysisContext context = new AnalysisContext(configs);
        for (io.jmesh.discovery.config.ConfigWarning w : warnings) {
            context.report(new Message(MessageType.SCHEMA_WARNING, w.kind(), w.namespace(), w.name(), w.source(),
                    MessageType.SCHEMA_WARNING.format(w.applied() ? w.message() : w.message() + "; not applied")));
        }
        for (ConfigError e : errors) {
            context.report(new Message(MessageType.SCHEMA_VALIDATION_ERROR, e.kind(), e.namespace(), e.name(),
                    e.source(), MessageType.SCHEMA_VALIDATION_ERROR.format(e.reason())));
        }
        for (Analyzer a : ALL) {
            a.analyze(context);
        }
        List<Message> out = new ArrayList<>();
        for (Message m : context.messages()) {
            if (!suppressedByAnnotation(configs, m)) {
                out.add(m);
            }
        }
        out.sort(Comparator.comparing((Message m) -> m.source() == null || m.source().file() == null ? ""
                        : m.source().file().toString())
                .thenComparingInt(m -> m.source() == null ? 0 : m.source().line())
                .thenComparing(m -> m.type().code()));
        return out;
    }

    private static boolean suppressedByAnnotation(List<Config<?>> configs, Message m) {
        for (Config<?> c : configs) {
            if (c.meta().kind().kindName().equals(m.kind()) && c.meta().name().equals(m.name())
                    && c.meta().namespace().equals(m.namespace())) {
                Map<String, String> annotations = c.meta().annotations();
                String value = annotations.get(SUPPRESS_ANNOTATION);
                if (value == null) {
                    return false;
                }
                for (String code : value.split(",")) {
                    if (code.trim().equals("*") || code.trim().equals(m.type().code())) {
                        return true;
                    }
                }
                return false;
            }
        }
        return false;
    }
}

package io.jmesh.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Validates an {@link EnvoyFilter} as istiod's {@code ValidateEnvoyFilter} does, naming the field of each problem:
 * every patch has an {@code applyTo}, a {@code patch} with an {@code operation}, and a {@code value} unless it
 * removes; the match fits the kind of object patched (a listener match for listener objects, a route configuration
 * match for routes, a cluster match for clusters); a filter match has a name; a sub-filter match is for
 * {@code HTTP_FILTER} under the HTTP connection manager; {@code proxyVersion} compiles; the value reads as the
 * Envoy v3 message patched (a {@code typed_config}'s {@code @type} must be a type the proxy knows). Like istiod, an
 * unknown field in a value is a warning, not an error. What jmesh does not implement ({@code applyTo}
 * {@code LISTENER_FILTER}, {@code EXTENSION_CONFIG}, {@code BOOTSTRAP}, {@code WAYPOINT} context, {@code targetRefs},
 * {@code filterClass})
 * is refused or warned about by name. Stateless.
 */
public final class EnvoyFilterValidator {

    /** The {@code applyTo} values jmesh applies. */
    public static final List<String> APPLY_TO = List.of("LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER",
            "ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE", "CLUSTER");
    private static final Set<String> NOT_IMPLEMENTED_APPLY_TO = Set.of("LISTENER_FILTER", "EXTENSION_CONFIG",
            "BOOTSTRAP");
    private static final List<String> OPERATIONS = List.of("MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER",
            "INSERT_FIRST", "REPLACE");
    private static final List<String> CONTEXTS = List.of("ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY");
    private static final List<String> FILTER_CLASSES = List.of("UNSPECIFIED", "AUTHN", "AUTHZ", "STATS");
    private static final List<String> ROUTE_ACTIONS = List.of("ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE");
    private static final String HCM = "envoy.filters.network.http_connection_manager";

    /** The operations each kind of object takes; istiod ignores the others. */
    private static final Map<String, Set<String>> OPERATIONS_BY_APPLY_TO = Map.of(
            "LISTENER", Set.of("MERGE", "ADD", "REMOVE"),
            "FILTER_CHAIN", Set.of("MERGE", "ADD", "REMOVE"),
            "NETWORK_FILTER", Set.copyOf(OPERATIONS),
            "HTTP_FILTER", Set.copyOf(OPERATIONS),
            "ROUTE_CONFIGURATION", Set.of("MERGE"),
            "VIRTUAL_HOST", Set.of("MERGE", "ADD", "REMOVE", "REPLACE"),
            "HTTP_ROUTE", Set.of("MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST"),
            "CLUSTER", Set.of("MERGE", "ADD", "REMOVE"));

    private static final ObjectMapper JSON = new ObjectMapper();

    private EnvoyFilterValidator() {}

    /** Validates {@code ef} of an object with {@code apiVersion}; warnings (istiod's) go to {@code warn}. */
    static void validate(String apiVersion, EnvoyFilter ef, Consumer<String> warn) throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        if (apiVersion != null && !apiVersion.equalsIgnoreCase("networking.istio.io/v1alpha3")) {
            errs.add("apiVersion: " + apiVersion + " (expected: networking.istio.io/v1alpha3; EnvoyFilter has no "
                    + "other version)");
        }
        warn.accept("spec: EnvoyFilter (exposes internal implementation details that may change at any time; prefer "
                + "other APIs if possible, and exercise extreme caution, especially around upgrades)");
        if (ef.workloadSelector() != null) {
            if (ef.workloadSelector().labels().isEmpty()) {
                warn.accept("spec.workloadSelector.labels: {} (the filter applies to every workload of the "
                        + "namespace)");
            }
            errs.check(() -> ConfigValidator.validateLabels(ef.workloadSelector().labels(),
                    "spec.workloadSelector.labels"));
            if (!ef.targetRefs().isEmpty()) {
                errs.add("spec.targetRefs: set with workloadSelector (expected: only one of workloadSelector or "
                        + "targetRefs)");
            }
        }
        if (!ef.targetRefs().isEmpty()) {
            warn.accept("spec.targetRefs: " + ef.targetRefs().size() + " reference(s) (not implemented: as in istiod, "
                    + "an EnvoyFilter with targetRefs applies to no proxy)");
        }
        for (int i = 0; i < ef.configPatches().size(); i++) {
            validatePatch(ef.configPatches().get(i), "spec.configPatches[" + i + "]", errs, warn);
        }
        errs.throwIfAny();
    }

    private static void validatePatch(EnvoyFilter.EnvoyConfigObjectPatch cp, String path, ValidationErrors errs,
                                      Consumer<String> warn) {
        if (cp == null) {
            errs.add(path + ": null (expected: a config patch)");
            return;
        }
        String applyTo = cp.applyTo();
        if (applyTo == null || applyTo.isEmpty() || applyTo.equals("INVALID")) {
            errs.add(path + ".applyTo: missing (expected: one of " + String.join(", ", APPLY_TO) + ")");
            return;
        }
        if (NOT_IMPLEMENTED_APPLY_TO.contains(applyTo)) {
            errs.add(path + ".applyTo: " + applyTo + " (not implemented by jmesh; expected: one of "
                    + String.join(", ", APPLY_TO) + ")");
            return;
        }
        if (!APPLY_TO.contains(applyTo)) {
            errs.add(path + ".applyTo: " + applyTo + " (expected: one of " + String.join(", ", APPLY_TO) + ")");
            return;
        }
        EnvoyFilter.Patch patch = cp.patch();
        if (patch == null) {
            errs.add(path + ".patch: missing (expected: an operation and a value)");
            return;
        }
        String op = patch.operation();
        if (op == null || op.isEmpty() || op.equals("INVALID")) {
            errs.add(path + ".patch.operation: missing (expected: one of " + String.join(", ", OPERATIONS) + ")");
            return;
        }
        if (!OPERATIONS.contains(op)) {
            errs.add(path + ".patch.operation: " + op + " (expected: one of " + String.join(", ", OPERATIONS) + ")");
            return;
        }
        if (!op.equals("REMOVE") && patch.value() == null) {
            errs.add(path + ".patch.value: missing (expected: a value for operation " + op + ")");
            return;
        }
        if (!OPERATIONS_BY_APPLY_TO.get(applyTo).contains(op)) {
            warn.accept(path + ".patch.operation: " + op + " (has no effect with applyTo " + applyTo + "; it takes "
                    + String.join(", ", OPERATIONS.stream().filter(OPERATIONS_BY_APPLY_TO.get(applyTo)::contains)
                    .toList()) + ")");
        }
        if (patch.filterClass() != null && !FILTER_CLASSES.contains(patch.filterClass())) {
            errs.add(path + ".patch.filterClass: " + patch.filterClass() + " (expected: one of "
                    + String.join(", ", FILTER_CLASSES) + ")");
        } else if (patch.filterClass() != null && !patch.filterClass().equals("UNSPECIFIED")) {
            warn.accept(path + ".patch.filterClass: " + patch.filterClass() + " (not implemented by jmesh: the filter "
                    + "is placed by its operation " + op + ")");
        }
        EnvoyFilter.EnvoyConfigObjectMatch match = cp.match();
        if (match != null) {
            if (match.context() != null && !CONTEXTS.contains(match.context())) {
                errs.add(path + ".match.context: " + match.context() + (match.context().equals("WAYPOINT")
                        ? " (not implemented by jmesh; expected: " : " (expected: one of ")
                        + String.join(", ", CONTEXTS) + ")");
            }
            if (match.proxy() != null && match.proxy().proxyVersion() != null
                    && !match.proxy().proxyVersion().isEmpty()) {
                try {
                    Pattern.compile(match.proxy().proxyVersion());
                } catch (PatternSyntaxException e) {
                    errs.add(path + ".match.proxy.proxyVersion: " + match.proxy().proxyVersion()
                            + " (expected: a regular expression: " + e.getDescription() + ")");
                }
            }
            int objectMatches = (match.listener() != null ? 1 : 0) + (match.routeConfiguration() != null ? 1 : 0)
                    + (match.cluster() != null ? 1 : 0);
            if (objectMatches > 1) {
                errs.add(path + ".match: listener, routeConfiguration and cluster (expected: at most one of them)");
            }
            validateMatch(applyTo, match, path + ".match", errs, warn);
        }
        if (patch.value() != null) {
            try {
                patchValue(applyTo, patch.value(), path + ".patch.value", warn);
            } catch (ConfigException e) {
                errs.add(e.getMessage());
            }
        }
    }

    private static void validateMatch(String applyTo, EnvoyFilter.EnvoyConfigObjectMatch match, String path,
                                      ValidationErrors errs, Consumer<String> warn) {
        switch (applyTo) {
            case "LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER" -> {
                if (match.routeConfiguration() != null || match.cluster() != null) {
                    errs.add(path + ": " + (match.cluster() != null ? "cluster" : "routeConfiguration")
                            + " (expected: a listener match; applyTo " + applyTo + " is a listener object)");
                    return;
                }
                EnvoyFilter.ListenerMatch l = match.listener();
                if (l == null) {
                    return;
                }
                if (l.listenerFilter() != null && !l.listenerFilter().isEmpty()) {
                    warn.accept(path + ".listener.listenerFilter: " + l.listenerFilter() + " (has an effect with "
                            + "applyTo LISTENER_FILTER only, which jmesh does not implement)");
                }
                if (l.portName() != null && !l.portName().isEmpty()) {
                    warn.accept(path + ".listener.portName: " + l.portName() + " (not used by istiod; no effect)");
                }
                EnvoyFilter.FilterChainMatch fc = l.filterChain();
                if (fc == null || fc.filter() == null) {
                    return;
                }
                String fcPath = path + ".listener.filterChain.filter";
                if (applyTo.equals("LISTENER") || applyTo.equals("FILTER_CHAIN")) {
                    warn.accept(fcPath + ": " + fc.filter().name() + " (filter match has no effect when used with "
                            + applyTo + ")");
                }
                if (fc.filter().name() == null || fc.filter().name().isEmpty()) {
                    errs.add(fcPath + ".name: missing (expected: a filter name to match on)");
                    return;
                }
                EnvoyFilter.SubFilterMatch sub = fc.filter().subFilter();
                if (sub != null) {
                    if (!applyTo.equals("HTTP_FILTER")) {
                        errs.add(fcPath + ".subFilter: " + sub.name() + " (expected: with applyTo HTTP_FILTER only)");
                    } else if (!fc.filter().name().equals(HCM)
                            && !fc.filter().name().equals("envoy.http_connection_manager")) {
                        errs.add(fcPath + ".name: " + fc.filter().name() + " (expected: " + HCM
                                + "; a subFilter match is for HTTP filters)");
                    } else if (sub.name() == null || sub.name().isEmpty()) {
                        errs.add(fcPath + ".subFilter.name: missing (expected: an HTTP filter name to match on)");
                    }
                }
            }
            case "ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE" -> {
                if (match.listener() != null || match.cluster() != null) {
                    errs.add(path + ": " + (match.cluster() != null ? "cluster" : "listener")
                            + " (expected: a routeConfiguration match; applyTo " + applyTo
                            + " is a route object)");
                }
                EnvoyFilter.RouteConfigurationMatch rc = match.routeConfiguration();
                if (rc != null && rc.vhost() != null && rc.vhost().route() != null
                        && rc.vhost().route().action() != null
                        && !ROUTE_ACTIONS.contains(rc.vhost().route().action())) {
                    errs.add(path + ".routeConfiguration.vhost.route.action: " + rc.vhost().route().action()
                            + " (expected: one of " + String.join(", ", ROUTE_ACTIONS) + ")");
                }
            }
            default -> { // CLUSTER
                if (match.listener() != null || match.routeConfiguration() != null) {
                    errs.add(path + ": " + (match.listener() != null ? "listener" : "routeConfiguration")
                            + " (expected: a cluster match; applyTo CLUSTER is a cluster object)");
                }
            }
        }
    }

    /**
     * Reads a patch's {@code value} as the Envoy v3 message that {@code applyTo} patches ({@code Listener},
     * {@code FilterChain}, {@code Filter}, {@code HttpFilter}, {@code RouteConfiguration}, {@code VirtualHost},
     * {@code Route} or {@code Cluster}). Unknown fields are dropped and reported to {@code warn}; anything else that
     * does not read is an error naming {@code path} and the field.
     *
     * @throws ConfigException naming the field that does not read
     */
    public static Message patchValue(String applyTo, Map<String, Object> value, String path, Consumer<String> warn)
            throws ConfigException {
        JsonNode tree = JSON.valueToTree(value);
        Message.Builder builder = builderFor(applyTo);
        checkDurations(tree, builder.getDescriptorForType(), path);
        try {
            return EnvoyTypes.PARSER.parse(tree, builder).build();
        } catch (ConfigException strict) {
            String message = strict.getMessage() == null ? "" : strict.getMessage();
            if (strict.getCause() instanceof InvalidProtocolBufferException) {
                throw new ConfigException(path + ": " + SpecSchema.show(tree) + " (expected: a "
                        + builder.getDescriptorForType().getFullName() + " in Envoy's v3 JSON: " + message + ")");
            }
            if (!message.contains("unknown field")) {
                throw new ConfigException(path + "." + message);
            }
            Message.Builder lenient = builderFor(applyTo);
            try {
                JsonFormat.parser().ignoringUnknownFields().usingTypeRegistry(EnvoyTypes.REGISTRY)
                        .merge(JSON.writeValueAsString(tree), lenient);
            } catch (InvalidProtocolBufferException | com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ConfigException(path + ": " + SpecSchema.show(tree) + " (expected: a "
                        + lenient.getDescriptorForType().getFullName() + ": " + e.getMessage() + ")");
            }
            warn.accept(path + "." + message + "; the field is ignored");
            return lenient.build();
        }
    }

    /**
     * Names a {@code google.protobuf.Duration} that is not one ({@code "1.5s"}), which the proxy's JSON reader reports
     * without its path; descends into known fields and {@code Any} values of known types.
     */
    private static void checkDurations(JsonNode node, com.google.protobuf.Descriptors.Descriptor type, String path)
            throws ConfigException {
        if (node == null || !node.isObject()) {
            return;
        }
        if (type.getFullName().equals("google.protobuf.Any")) {
            JsonNode url = node.get("@type");
            com.google.protobuf.Descriptors.Descriptor inner = url == null || !url.isTextual() ? null
                    : EnvoyTypes.REGISTRY.find(url.asText().substring(url.asText().lastIndexOf('/') + 1));
            if (inner != null) {
                checkDurations(node, inner, path);
            }
            return;
        }
        for (java.util.Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            com.google.protobuf.Descriptors.FieldDescriptor f = type.findFieldByName(e.getKey());
            if (f == null) {
                f = type.getFields().stream().filter(x -> x.getJsonName().equals(e.getKey())).findFirst()
                        .orElse(null);
            }
            if (f == null || f.getJavaType() != com.google.protobuf.Descriptors.FieldDescriptor.JavaType.MESSAGE
                    || f.isMapField()) {
                continue;
            }
            String at = path + "." + e.getKey();
            List<JsonNode> values = new java.util.ArrayList<>();
            if (f.isRepeated() && e.getValue().isArray()) {
                e.getValue().forEach(values::add);
            } else {
                values.add(e.getValue());
            }
            for (int i = 0; i < values.size(); i++) {
                String p = f.isRepeated() ? at + "[" + i + "]" : at;
                JsonNode v = values.get(i);
                if (f.getMessageType().getFullName().equals("google.protobuf.Duration")) {
                    if (!v.isTextual() || !v.asText().matches("-?[0-9]+(\\.[0-9]{1,9})?s")) {
                        throw new ConfigException(p + ": " + (v.isTextual() ? "\"" + v.asText() + "\"" : v.toString())
                                + " (expected: a duration such as \"1.5s\")");
                    }
                } else {
                    checkDurations(v, f.getMessageType(), p);
                }
            }
        }
    }

    private static Message.Builder builderFor(String applyTo) {
        return switch (applyTo) {
            case "LISTENER" -> Listener.newBuilder();
            case "FILTER_CHAIN" -> FilterChain.newBuilder();
            case "NETWORK_FILTER" -> Filter.newBuilder();
            case "HTTP_FILTER" -> HttpFilter.newBuilder();
            case "ROUTE_CONFIGURATION" -> RouteConfiguration.newBuilder();
            case "VIRTUAL_HOST" -> VirtualHost.newBuilder();
            case "HTTP_ROUTE" -> Route.newBuilder();
            case "CLUSTER" -> Cluster.newBuilder();
            default -> throw new IllegalArgumentException("applyTo: " + applyTo);
        };
    }
}

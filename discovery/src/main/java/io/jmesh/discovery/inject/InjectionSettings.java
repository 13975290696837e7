package io.jmesh.discovery.inject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.jmesh.discovery.config.ConfigValidator;
import io.jmesh.discovery.config.DirectoryConfigWatcher;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.proxy.config.ConfigException;

/**
 * What the injector needs besides the pod: Istio's injection values ({@code --valuesFile}, the {@code values} of the
 * {@code istio-sidecar-injector} ConfigMap), the mesh config ({@code --meshConfigFile}: trust domain and
 * {@code defaultConfig}, the ProxyConfig every sidecar starts from) and the injection config ({@code
 * --injectConfigFile}: {@code policy}, {@code alwaysInjectSelector}, {@code neverInjectSelector},
 * {@code injectedAnnotations}). Immutable; {@link #DEFAULT} is Istio's defaults with jmesh's image.
 *
 * @param image                  the jmesh image of both injected containers
 * @param imagePullPolicy        their pull policy, or {@code null} for Kubernetes' default
 * @param discoveryAddress       discovery's xDS and CA address ({@code istiod.istio-system.svc:15012})
 * @param trustDomain            the mesh's trust domain
 * @param clusterId              Istio's {@code CLUSTER_ID} node metadata
 * @param meshId                 Istio's {@code MESH_ID}
 * @param network                Istio's {@code NETWORK}, or empty
 * @param proxy                  the {@code global.proxy} capture and resource defaults
 * @param proxyConfig            the mesh-wide ProxyConfig ({@code meshConfig.defaultConfig})
 * @param policy                 {@code enabled}: inject unless told not to; {@code disabled}: only when asked
 * @param alwaysInjectSelector   pods these select are injected unless their annotation says no
 * @param neverInjectSelector    pods these select are not injected unless their annotation says yes
 * @param injectedAnnotations    annotations added to every injected pod
 * @param rewriteAppHttpProbe    whether app probes go through the sidecar's status port by default
 * @param warnings               settings that were read but are not supported, by name
 */
public record InjectionSettings(String image, String imagePullPolicy, String discoveryAddress, String trustDomain,
                                String clusterId, String meshId, String network, ProxyValues proxy,
                                Map<String, Object> proxyConfig, String policy,
                                List<LabelSelector> alwaysInjectSelector,
                                List<LabelSelector> neverInjectSelector,
                                Map<String, String> injectedAnnotations, boolean rewriteAppHttpProbe,
                                List<String> warnings) {

    /** jmesh's image when the values name none. */
    public static final String DEFAULT_IMAGE = "docker.io/jmesh/jmesh:latest";

    /** Istio's defaults with jmesh's image. */
    public static final InjectionSettings DEFAULT = new InjectionSettings(DEFAULT_IMAGE, null,
            "istiod.istio-system.svc:15012", "cluster.local", "Kubernetes", "cluster.local", "", ProxyValues.DEFAULT,
            Map.of(), "enabled", List.of(), List.of(), Map.of(), true, List.of());

    public InjectionSettings {
        proxyConfig = Map.copyOf(proxyConfig);
        alwaysInjectSelector = List.copyOf(alwaysInjectSelector);
        neverInjectSelector = List.copyOf(neverInjectSelector);
        injectedAnnotations = Map.copyOf(injectedAnnotations);
        warnings = List.copyOf(warnings);
    }

    /**
     * Istio's {@code global.proxy} values that the injector reads.
     *
     * @param statusPort         the sidecar's status port (probes are rewritten to it), 15020
     * @param includeIpRanges    {@code -i}: outbound destinations captured, {@code *}
     * @param excludeIpRanges    {@code -x}: outbound destinations never captured, empty
     * @param includeInboundPorts {@code -b}: inbound ports captured, {@code *}
     * @param excludeInboundPorts inbound ports not captured (besides 15090, 15021 and the status port)
     * @param includeOutboundPorts {@code -q}
     * @param excludeOutboundPorts {@code -o}
     * @param requests           istio-proxy's resource requests ({@code cpu}, {@code memory})
     * @param limits             istio-proxy's resource limits
     * @param holdApplicationUntilProxyStarts start the proxy first and hold the application until it is ready
     */
    public record ProxyValues(int statusPort, String includeIpRanges, String excludeIpRanges,
                              String includeInboundPorts, String excludeInboundPorts, String includeOutboundPorts,
                              String excludeOutboundPorts, Map<String, String> requests, Map<String, String> limits,
                              boolean holdApplicationUntilProxyStarts) {

        /** Istio's defaults (values.yaml of istio-control/istio-discovery). */
        public static final ProxyValues DEFAULT = new ProxyValues(15020, "*", "", "*", "", "", "",
                Map.of("cpu", "100m", "memory", "128Mi"), Map.of("cpu", "2000m", "memory", "1024Mi"), false);

        public ProxyValues {
            requests = Map.copyOf(requests);
            limits = Map.copyOf(limits);
        }
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    /** The {@code global.proxy} keys read; others are reported as unsupported. */
    private static final Set<String> PROXY_KEYS = Set.of("image", "statusPort", "includeIPRanges", "excludeIPRanges",
            "includeInboundPorts", "excludeInboundPorts", "includeOutboundPorts", "excludeOutboundPorts", "resources",
            "holdApplicationUntilProxyStarts");

    /**
     * Reads the three files, each optional ({@code null}), over {@link #DEFAULT}.
     *
     * @throws ConfigException naming the file and the field when one cannot be used
     */
    public static InjectionSettings load(Path valuesFile, Path meshConfigFile, Path injectConfigFile)
            throws ConfigException {
        List<String> warnings = new ArrayList<>();
        InjectionSettings d = DEFAULT;
        String image = d.image;
        String pullPolicy = d.imagePullPolicy;
        String discovery = d.discoveryAddress;
        String clusterId = d.clusterId;
        String meshId = null;
        String network = d.network;
        ProxyValues p = d.proxy;
        boolean rewrite = d.rewriteAppHttpProbe;
        if (valuesFile != null) {
            JsonNode root = read(valuesFile, "--valuesFile");
            JsonNode global = root.path("global");
            String hub = text(global, "hub", null);
            String tag = text(global, "tag", null);
            JsonNode proxy = global.path("proxy");
            String name = text(proxy, "image", null);
            if (name != null && (name.contains("/") || name.contains(":"))) {
                image = name;
            } else if (hub != null || tag != null || name != null) {
                image = (hub == null ? "docker.io/jmesh" : hub) + "/" + (name == null ? "jmesh" : name) + ":"
                        + (tag == null ? "latest" : tag);
            }
            pullPolicy = text(global, "imagePullPolicy", pullPolicy);
            String istioNamespace = text(global, "istioNamespace", null);
            if (istioNamespace != null) {
                discovery = "istiod." + istioNamespace + ".svc:15012";
            }
            discovery = text(global, "caAddress", discovery);
            clusterId = text(global.path("multiCluster"), "clusterName", clusterId);
            meshId = text(global, "meshID", null);
            network = text(global, "network", network);
            proxy.fieldNames().forEachRemaining(k -> {
                if (!PROXY_KEYS.contains(k)) {
                    warnings.add(valuesFile + ": global.proxy." + k + " is not supported by jmesh's injector (ignored)");
                }
            });
            Map<String, String> requests = resources(proxy.path("resources").path("requests"), p.requests());
            Map<String, String> limits = resources(proxy.path("resources").path("limits"), p.limits());
            int statusPort = p.statusPort();
            if (proxy.has("statusPort")) {
                statusPort = proxy.get("statusPort").asInt(-1);
                if (statusPort < 1 || statusPort > 65535) {
                    throw new ConfigException(valuesFile + ": global.proxy.statusPort: " + proxy.get("statusPort")
                            + " (expected: a port 1-65535)");
                }
            }
            p = new ProxyValues(statusPort, text(proxy, "includeIPRanges", p.includeIpRanges()),
                    text(proxy, "excludeIPRanges", p.excludeIpRanges()),
                    text(proxy, "includeInboundPorts", p.includeInboundPorts()),
                    text(proxy, "excludeInboundPorts", p.excludeInboundPorts()),
                    text(proxy, "includeOutboundPorts", p.includeOutboundPorts()),
                    text(proxy, "excludeOutboundPorts", p.excludeOutboundPorts()), requests, limits,
                    proxy.path("holdApplicationUntilProxyStarts").asBoolean(p.holdApplicationUntilProxyStarts()));
            JsonNode webhook = root.path("sidecarInjectorWebhook");
            rewrite = webhook.path("rewriteAppHTTPProbe").asBoolean(rewrite);
        }
        String trustDomain = d.trustDomain;
        Map<String, Object> proxyConfig = d.proxyConfig;
        if (meshConfigFile != null) {
            MeshConfig mesh = DirectoryConfigWatcher.loadMeshConfig(meshConfigFile);
            trustDomain = mesh.trustDomain();
            proxyConfig = mesh.defaultConfig();
            Object drain = proxyConfig.get("terminationDrainDuration");
            if (drain != null) {
                // checked here, where the file can be named, rather than at each injection
                ConfigValidator.parseDuration(String.valueOf(drain), meshConfigFile
                        + ": defaultConfig.terminationDrainDuration", java.time.Duration.ZERO);
            }
            Object address = proxyConfig.get("discoveryAddress");
            if (address instanceof String s && !s.isEmpty()) {
                discovery = s;
            }
        }
        if (meshId == null) {
            meshId = trustDomain;
        }
        String policy = d.policy;
        List<LabelSelector> always = d.alwaysInjectSelector;
        List<LabelSelector> never = d.neverInjectSelector;
        Map<String, String> injected = d.injectedAnnotations;
        if (injectConfigFile != null) {
            JsonNode root = read(injectConfigFile, "--injectConfigFile");
            policy = text(root, "policy", policy);
            if (!policy.equals("enabled") && !policy.equals("disabled")) {
                throw new ConfigException(injectConfigFile + ": policy: " + policy + " (expected: enabled or disabled)");
            }
            always = selectors(root.path("alwaysInjectSelector"), injectConfigFile + ": alwaysInjectSelector");
            never = selectors(root.path("neverInjectSelector"), injectConfigFile + ": neverInjectSelector");
            Map<String, String> ann = new LinkedHashMap<>();
            root.path("injectedAnnotations").properties().forEach(e -> ann.put(e.getKey(), e.getValue().asText()));
            injected = ann;
            for (String k : List.of("template", "templates", "defaultTemplates", "aliases")) {
                if (root.has(k)) {
                    warnings.add(injectConfigFile + ": " + k + " is not supported (jmesh's sidecar template is built "
                            + "in; use the values and annotations it reads)");
                }
            }
        }
        return new InjectionSettings(image, pullPolicy, discovery, trustDomain, clusterId, meshId, network, p,
                proxyConfig, policy, always, never, injected, rewrite, warnings);
    }

    /** A copy with another image (tests, and {@code jmesh discovery}'s own image). */
    public InjectionSettings withImage(String newImage) {
        return new InjectionSettings(newImage, imagePullPolicy, discoveryAddress, trustDomain, clusterId, meshId,
                network, proxy, proxyConfig, policy, alwaysInjectSelector, neverInjectSelector, injectedAnnotations,
                rewriteAppHttpProbe, warnings);
    }

    /** A copy with another injection policy ({@code enabled} or {@code disabled}). */
    public InjectionSettings withPolicy(String newPolicy) {
        return new InjectionSettings(image, imagePullPolicy, discoveryAddress, trustDomain, clusterId, meshId,
                network, proxy, proxyConfig, newPolicy, alwaysInjectSelector, neverInjectSelector,
                injectedAnnotations, rewriteAppHttpProbe, warnings);
    }

    private static JsonNode read(Path file, String option) throws ConfigException {
        try {
            JsonNode n = YAML.readTree(Files.readString(file));
            if (n == null || n.isMissingNode() || n.isNull()) {
                return YAML.createObjectNode();
            }
            if (!n.isObject()) {
                throw new ConfigException(option + ": " + file + " (expected: a YAML mapping)");
            }
            return n;
        } catch (IOException e) {
            throw new ConfigException(option + ": " + file + " (" + e.getMessage() + ")", e);
        }
    }

    private static Map<String, String> resources(JsonNode node, Map<String, String> defaults) {
        if (!node.isObject()) {
            return defaults;
        }
        Map<String, String> out = new LinkedHashMap<>();
        node.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    /**
     * Label selectors as Kubernetes writes them, checked here so that a bad one is refused at load naming the field
     * (an unknown field, an operator other than In, NotIn, Exists or DoesNotExist, values missing or extra).
     */
    private static List<LabelSelector> selectors(JsonNode node, String path) throws ConfigException {
        if (node.isMissingNode() || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new ConfigException(path + ": " + node.getNodeType() + " (expected: a list of label selectors)");
        }
        List<LabelSelector> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String at = path + "[" + i + "]";
            LabelSelector selector;
            try {
                selector = node.get(i).isObject() ? SERIALIZATION.unmarshal(node.get(i).toString(), LabelSelector.class)
                        : null;
            } catch (RuntimeException e) { // a field of the wrong type
                selector = null;
            }
            if (selector == null || !selector.getAdditionalProperties().isEmpty()) {
                throw new ConfigException(at + ": " + node.get(i) + " (expected: a label selector with matchLabels "
                        + "and/or matchExpressions)");
            }
            List<LabelSelectorRequirement> exprs = selector.getMatchExpressions() == null ? List.of()
                    : selector.getMatchExpressions();
            for (int j = 0; j < exprs.size(); j++) {
                LabelSelectorRequirement e = exprs.get(j);
                String ep = at + ".matchExpressions[" + j + "]";
                if (e == null || e.getKey() == null || !e.getAdditionalProperties().isEmpty()) {
                    throw new ConfigException(ep + ": " + node.get(i).path("matchExpressions").get(j)
                            + " (expected: key, operator and values)");
                }
                if (!InjectionPolicy.LabelSelectors.OPERATORS.contains(e.getOperator())) {
                    throw new ConfigException(ep + ".operator: " + e.getOperator()
                            + " (expected: In, NotIn, Exists or DoesNotExist)");
                }
                boolean setOp = e.getOperator().equals("In") || e.getOperator().equals("NotIn");
                boolean hasValues = e.getValues() != null && !e.getValues().isEmpty();
                if (setOp != hasValues) {
                    throw new ConfigException(ep + ".values: " + (hasValues ? e.getValues() : "none")
                            + " (expected: " + (setOp ? "at least one value with " : "none with ") + e.getOperator()
                            + ")");
                }
            }
            out.add(selector);
        }
        return out;
    }

    private static String text(JsonNode node, String field, String dflt) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? dflt : v.asText();
    }
}

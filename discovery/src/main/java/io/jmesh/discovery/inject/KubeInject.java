package io.jmesh.discovery.inject;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.jmesh.proxy.config.ConfigException;

/**
 * {@code istioctl kube-inject} over YAML: every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * ReplicationController, Job and CronJob of a multi-document stream (and of {@code List}s in it) gets the sidecar of
 * {@link SidecarInjector} in its pod template, where {@link InjectionPolicy} says so; other documents come out with
 * the same content. Stateless and thread-safe.
 */
public final class KubeInject {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLFactory YAML_FACTORY = YAMLFactory.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build();
    private static final ObjectMapper YAML = new ObjectMapper(YAML_FACTORY);
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    /** The injected documents, and what happened to each workload ({@code Kind/name: injected} or why not). */
    public record Output(String yaml, List<String> messages, List<String> warnings) {}

    private final SidecarInjector injector;

    public KubeInject(SidecarInjector injector) {
        this.injector = injector;
    }

    /**
     * Injects every workload of {@code yaml}.
     *
     * @param source the input's name for messages (a file name, or {@code -} for stdin)
     * @throws ConfigException with {@code source}, the document's {@code Kind/name} and the reason, when the YAML
     *                         cannot be read or a workload cannot be injected; nothing is written then
     */
    public Output inject(String source, String yaml) throws ConfigException {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                JsonNode n = it.nextValue();
                if (n != null && !n.isNull() && !n.isMissingNode()) {
                    docs.add(n);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new ConfigException(source + ": " + e.getMessage().lines().findFirst().orElse("")
                    + " (expected: Kubernetes YAML)");
        }
        List<String> messages = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (JsonNode doc : docs) {
            injectDocument(source, doc, messages, warnings);
        }
        StringBuilder out = new StringBuilder();
        try {
            for (int i = 0; i < docs.size(); i++) {
                if (i > 0) {
                    out.append("---\n");
                }
                out.append(YAML.writeValueAsString(docs.get(i)));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return new Output(out.toString(), List.copyOf(messages), List.copyOf(warnings));
    }

    private void injectDocument(String source, JsonNode doc, List<String> messages, List<String> warnings)
            throws ConfigException {
        if (!doc.isObject()) {
            return;
        }
        String kind = doc.path("kind").asText("");
        if (kind.endsWith("List") && doc.path("items").isArray()) {
            for (JsonNode item : (ArrayNode) doc.get("items")) {
                injectDocument(source, item, messages, warnings);
            }
            return;
        }
        String name = doc.path("metadata").path("name").asText(doc.path("metadata").path("generateName").asText(""));
        String namespace = doc.path("metadata").path("namespace").asText("");
        ObjectNode parent;
        String field;
        String apiVersion;
        switch (kind) {
            case "Pod" -> {
                parent = null;
                field = null;
                apiVersion = "v1";
            }
            case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet" -> {
                parent = object(doc, "spec");
                field = "template";
                apiVersion = "apps/v1";
            }
            case "ReplicationController" -> {
                parent = object(doc, "spec");
                field = "template";
                apiVersion = "v1";
            }
            case "Job" -> {
                parent = object(doc, "spec");
                field = "template";
                apiVersion = "batch/v1";
            }
            case "CronJob" -> {
                parent = object(object(object(doc, "spec"), "jobTemplate"), "spec");
                field = "template";
                apiVersion = "batch/v1";
            }
            default -> {
                return;
            }
        }
        String what = kind + "/" + name;
        JsonNode templateNode;
        if (parent == null) {
            ObjectNode t = JSON.createObjectNode();
            t.set("metadata", doc.path("metadata").isObject() ? doc.get("metadata") : JSON.createObjectNode());
            t.set("spec", doc.path("spec").isObject() ? doc.get("spec") : JSON.createObjectNode());
            templateNode = t;
        } else {
            templateNode = parent.path(field);
            if (!templateNode.isObject()) {
                throw new ConfigException(source + ": " + what + ": spec.template: missing (expected: a pod template)");
            }
        }
        PodTemplateSpec template;
        try {
            template = SERIALIZATION.unmarshal(JSON.writeValueAsString(templateNode), PodTemplateSpec.class);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException(source + ": " + what + ": " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (template.getMetadata() == null) {
            template.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMeta());
        }
        if (template.getSpec() == null) {
            template.setSpec(new io.fabric8.kubernetes.api.model.PodSpec());
        }
        Map<String, String> labels = template.getMetadata().getLabels();
        Map<String, String> annotations = template.getMetadata().getAnnotations();
        InjectionPolicy.Decision decision = InjectionPolicy.decide(namespace.isEmpty() ? null : namespace, null,
                labels, annotations, Boolean.TRUE.equals(template.getSpec().getHostNetwork()), injector.settings());
        if (!decision.inject()) {
            messages.add(what + ": not injected: " + decision.reason());
            return;
        }
        String workloadName = kind.equals("Pod") && doc.path("metadata").path("name").isMissingNode()
                ? name.replaceAll("-$", "") : name;
        SidecarInjector.Workload workload = SidecarInjector.Workload.of(apiVersion, kind, namespace, workloadName);
        SidecarInjector.Result result;
        try {
            result = injector.inject(template.getMetadata(), template.getSpec(), namespace.isEmpty() ? null : namespace,
                    workload);
        } catch (ConfigException e) {
            throw new ConfigException(source + ": " + what + ": " + e.getMessage());
        }
        result.warnings().forEach(w -> warnings.add(what + ": " + w));
        JsonNode injected;
        try {
            injected = JSON.readTree(SERIALIZATION.asJson(template));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        if (parent == null) {
            ((ObjectNode) doc).set("metadata", injected.get("metadata"));
            ((ObjectNode) doc).set("spec", injected.get("spec"));
        } else {
            parent.set(field, injected);
        }
        messages.add(what + ": injected");
    }

    private static ObjectNode object(JsonNode node, String field) throws ConfigException {
        JsonNode n = node.get(field);
        if (n == null || !n.isObject()) {
            ObjectNode created = JSON.createObjectNode();
            ((ObjectNode) node).set(field, created);
            return created;
        }
        return (ObjectNode) n;
    }
}

package io.jmesh.discovery.inject;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/**
 * Whether a pod gets a sidecar, as Istio decides it: the webhook's namespace and object selectors (the namespace label
 * {@code istio-injection}, the pod label {@code sidecar.istio.io/inject}), then Istio's {@code injectRequired}: host
 * network pods and the {@code kube-system}/{@code kube-public} namespaces never; the pod's {@code
 * sidecar.istio.io/inject} label (else annotation) {@code true}/{@code false}; the injection config's never/always
 * selectors; else the {@code policy}. Stateless.
 */
public final class InjectionPolicy {

    /** Istio's label and annotation on a pod. */
    public static final String INJECT = "sidecar.istio.io/inject";
    /** Istio's namespace label. */
    public static final String NAMESPACE_LABEL = "istio-injection";
    /** Istio's revision label (a namespace with it is for a revisioned control plane). */
    public static final String REVISION_LABEL = "istio.io/rev";
    /** The annotation of an injected pod. */
    public static final String STATUS = "sidecar.istio.io/status";

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private static final Set<String> IGNORED_NAMESPACES = Set.of("kube-system", "kube-public");

    /** The decision and why, for logs and {@code kube-inject}'s messages. */
    public record Decision(boolean inject, String reason) {}

    private InjectionPolicy() {}

    /**
     * The webhook's decision. {@code namespaceLabels} are the labels of the pod's namespace, or {@code null} when
     * unknown ({@code kube-inject}: the namespace selector is then not applied, as istioctl does).
     */
    public static Decision decide(String namespace, Map<String, String> namespaceLabels,
                                  Map<String, String> podLabels, Map<String, String> podAnnotations,
                                  boolean hostNetwork, InjectionSettings settings) {
        podLabels = podLabels == null ? Map.of() : podLabels;
        podAnnotations = podAnnotations == null ? Map.of() : podAnnotations;
        if (podAnnotations.containsKey(STATUS)) {
            return new Decision(false, "already injected (annotation " + STATUS + ")");
        }
        if (namespaceLabels != null) {
            // Istio's two MutatingWebhookConfiguration entries: namespace.sidecar-injector.istio.io
            // (istio-injection=enabled, pod label inject != false) and object.sidecar-injector.istio.io
            // (no istio-injection nor istio.io/rev on the namespace, pod label inject=true).
            String ns = namespaceLabels.get(NAMESPACE_LABEL);
            String podLabel = podLabels.get(INJECT);
            boolean byNamespace = "enabled".equals(ns) && !"false".equals(podLabel);
            boolean byObject = ns == null && !namespaceLabels.containsKey(REVISION_LABEL) && "true".equals(podLabel);
            if (!byNamespace && !byObject) {
                return new Decision(false, ns == null
                        ? "namespace " + namespace + " has no label " + NAMESPACE_LABEL + "=enabled and the pod no label "
                                + INJECT + "=true"
                        : "namespace " + namespace + " has label " + NAMESPACE_LABEL + "=" + ns
                                + (podLabel == null ? "" : " and the pod label " + INJECT + "=" + podLabel));
            }
        }
        if (hostNetwork) {
            return new Decision(false, "the pod uses the host network");
        }
        if (namespace != null && IGNORED_NAMESPACES.contains(namespace)) {
            return new Decision(false, "namespace " + namespace + " is never injected");
        }
        String selector = podAnnotations.get(INJECT);
        String source = "annotation";
        if (podLabels.containsKey(INJECT)) {
            selector = podLabels.get(INJECT);
            source = "label";
        }
        boolean useDefault = false;
        boolean inject = false;
        switch (selector == null ? "" : selector.toLowerCase(Locale.ROOT)) {
            case "y", "yes", "true", "on" -> inject = true;
            case "" -> useDefault = true;
            default -> { }
        }
        if (useDefault) {
            for (LabelSelector s : settings.neverInjectSelector()) {
                if (LabelSelectors.matches(s, podLabels)) {
                    return new Decision(false, "neverInjectSelector " + LabelSelectors.describe(s) + " selects the pod");
                }
            }
            for (LabelSelector s : settings.alwaysInjectSelector()) {
                if (LabelSelectors.matches(s, podLabels)) {
                    return new Decision(true, "alwaysInjectSelector " + LabelSelectors.describe(s) + " selects the pod");
                }
            }
        }
        if (settings.policy().equals("disabled")) {
            return new Decision(inject, inject ? source + " " + INJECT + "=" + selector
                    : "policy disabled and no " + INJECT + "=true");
        }
        if (useDefault) {
            return new Decision(true, "policy enabled");
        }
        return new Decision(inject, source + " " + INJECT + "=" + selector);
    }

    /** Kubernetes label selectors ({@code matchLabels}, {@code matchExpressions}); checked by {@link InjectionSettings}. */
    static final class LabelSelectors {

        /** The operators of a {@code matchExpressions} entry. */
        static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

        private LabelSelectors() {}

        static boolean matches(LabelSelector selector, Map<String, String> labels) {
            if (selector.getMatchLabels() != null) {
                for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
                    if (!String.valueOf(e.getValue()).equals(labels.get(e.getKey()))) {
                        return false;
                    }
                }
            }
            if (selector.getMatchExpressions() != null) {
                for (LabelSelectorRequirement expr : selector.getMatchExpressions()) {
                    List<String> values = expr.getValues() == null ? List.of() : expr.getValues();
                    boolean has = labels.containsKey(expr.getKey());
                    boolean in = has && values.contains(labels.get(expr.getKey()));
                    boolean ok = switch (expr.getOperator()) {
                        case "In" -> in;
                        case "NotIn" -> !in;
                        case "Exists" -> has;
                        default -> !has; // DoesNotExist
                    };
                    if (!ok) {
                        return false;
                    }
                }
            }
            return true;
        }

        /** The selector as it is written in the injection config (JSON), for decisions' reasons. */
        static String describe(LabelSelector selector) {
            return SERIALIZATION.asJson(selector);
        }
    }
}

package io.jmesh.discovery.registry.kubernetes;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * istiod's webhook patcher, once: the {@code caBundle} of every webhook of the MutatingWebhookConfigurations
 * labelled {@code app=sidecar-injector} and of the ValidatingWebhookConfigurations labelled {@code istio=istiod} is
 * set to the mesh roots that sign discovery's webhook certificate, so that the API server trusts
 * {@code /inject} and {@code /validate}. Configurations applied later are patched at discovery's next start.
 */
public final class WebhookCaBundle {

    private static final Logger logger = LoggerFactory.getLogger(WebhookCaBundle.class);

    private WebhookCaBundle() {}

    /**
     * Sets the {@code caBundle} of the webhooks to {@code rootsPem}; returns the names of the configurations
     * changed. A configuration that cannot be updated is logged and left.
     */
    public static java.util.List<String> patch(KubernetesClient client, String rootsPem) {
        String bundle = Base64.getEncoder().encodeToString(rootsPem.getBytes(StandardCharsets.UTF_8));
        java.util.List<String> changed = new java.util.ArrayList<>();
        var ad = client.admissionRegistration().v1();
        try {
            for (MutatingWebhookConfiguration m : ad.mutatingWebhookConfigurations()
                    .withLabel("app", "sidecar-injector").list().getItems()) {
                if (m.getWebhooks().stream().allMatch(w -> Objects.equals(bundle, w.getClientConfig().getCaBundle()))) {
                    continue;
                }
                m.getWebhooks().forEach(w -> w.getClientConfig().setCaBundle(bundle));
                ad.mutatingWebhookConfigurations().resource(m).update();
                changed.add("MutatingWebhookConfiguration/" + m.getMetadata().getName());
            }
            for (ValidatingWebhookConfiguration v : ad.validatingWebhookConfigurations()
                    .withLabel("istio", "istiod").list().getItems()) {
                if (v.getWebhooks().stream().allMatch(w -> Objects.equals(bundle, w.getClientConfig().getCaBundle()))) {
                    continue;
                }
                v.getWebhooks().forEach(w -> w.getClientConfig().setCaBundle(bundle));
                ad.validatingWebhookConfigurations().resource(v).update();
                changed.add("ValidatingWebhookConfiguration/" + v.getMetadata().getName());
            }
        } catch (KubernetesClientException e) {
            logger.warn("webhook caBundle not patched: {} (the chart's value sidecarInjectorWebhook.caBundle can set it)",
                    e.getMessage());
        }
        if (!changed.isEmpty()) {
            logger.info("caBundle patched: {}", changed);
        }
        return changed;
    }
}

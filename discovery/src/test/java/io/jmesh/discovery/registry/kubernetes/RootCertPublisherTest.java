package io.jmesh.discovery.registry.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.jmesh.proxy.testing.Poll;

/**
 * istiod's namespace controller: ConfigMap {@code istio-ca-root-cert} in every namespace, put back when deleted or
 * edited, on a {@link FakeApiServer} (fabric8's mock API server in CRUD mode: a fake, no real API server can run
 * here).
 */
@Tag("kubernetes")
class RootCertPublisherTest {

    static final String ROOTS = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n";

    private FakeApiServer api;
    private RootCertPublisher publisher;

    @BeforeEach
    void start() throws Exception {
        api = new FakeApiServer();
    }

    @AfterEach
    void stop() {
        if (publisher != null) {
            publisher.close();
        }
        api.close();
    }

    private String roots(String ns) {
        ConfigMap cm = api.client.configMaps().inNamespace(ns).withName("istio-ca-root-cert").get();
        return cm == null || cm.getData() == null ? null : cm.getData().get("root-cert.pem");
    }

    @Test
    void everyNamespaceGetsTheRootsAndKeepsThem() throws Exception {
        api.namespace("demo", Map.of());
        publisher = RootCertPublisher.start(api.client, () -> ROOTS);
        Poll.until(() -> ROOTS.equals(roots("demo")), "istio-ca-root-cert in demo");

        api.namespace("shop", Map.of("istio-injection", "enabled"));
        Poll.until(() -> ROOTS.equals(roots("shop")), "istio-ca-root-cert in a new namespace");

        api.client.configMaps().inNamespace("demo").withName("istio-ca-root-cert").delete();
        Poll.until(() -> ROOTS.equals(roots("demo")), "a deleted istio-ca-root-cert put back");

        ConfigMap edited = new ConfigMapBuilder(api.client.configMaps().inNamespace("shop")
                .withName("istio-ca-root-cert").get()).withData(Map.of("root-cert.pem", "tampered")).build();
        api.client.configMaps().inNamespace("shop").resource(edited).update();
        Poll.until(() -> ROOTS.equals(roots("shop")), "an edited istio-ca-root-cert put back");
        assertEquals("true", api.client.configMaps().inNamespace("shop").withName("istio-ca-root-cert").get()
                .getMetadata().getLabels().get("istio.io/config"));
    }

    @Test
    void aRootRotationReachesEveryNamespaceAtTheNextResync() throws Exception {
        api.namespace("demo", Map.of());
        AtomicReference<String> current = new AtomicReference<>(ROOTS);
        publisher = RootCertPublisher.start(api.client, current::get, 1000);
        Poll.until(() -> ROOTS.equals(roots("demo")), "istio-ca-root-cert in demo");
        String rotated = ROOTS + "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n";
        current.set(rotated);
        // No event: only the namespaces' resync brings the new roots.
        Poll.until(() -> rotated.equals(roots("demo")), "the rotated roots in demo");
    }

    @Test
    void theWebhooksGetTheRootsAsCaBundle() {
        var ad = api.client.admissionRegistration().v1();
        ad.mutatingWebhookConfigurations().resource(new io.fabric8.kubernetes.api.model.admissionregistration.v1
                .MutatingWebhookConfigurationBuilder().withNewMetadata().withName("istio-sidecar-injector")
                .withLabels(Map.of("app", "sidecar-injector")).endMetadata()
                .addNewWebhook().withName("namespace.sidecar-injector.istio.io").withNewClientConfig().withCaBundle("")
                .endClientConfig().endWebhook().build()).create();
        ad.validatingWebhookConfigurations().resource(new io.fabric8.kubernetes.api.model.admissionregistration.v1
                .ValidatingWebhookConfigurationBuilder().withNewMetadata().withName("istio-validator-istio-system")
                .withLabels(Map.of("istio", "istiod")).endMetadata()
                .addNewWebhook().withName("rev.validation.istio.io").withNewClientConfig().endClientConfig()
                .endWebhook().build()).create();
        String b64 = java.util.Base64.getEncoder().encodeToString(ROOTS.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(java.util.List.of("MutatingWebhookConfiguration/istio-sidecar-injector",
                "ValidatingWebhookConfiguration/istio-validator-istio-system"), WebhookCaBundle.patch(api.client, ROOTS));
        assertEquals(b64, ad.mutatingWebhookConfigurations().withName("istio-sidecar-injector").get().getWebhooks()
                .get(0).getClientConfig().getCaBundle());
        assertEquals(b64, ad.validatingWebhookConfigurations().withName("istio-validator-istio-system").get()
                .getWebhooks().get(0).getClientConfig().getCaBundle());
        assertEquals(java.util.List.of(), WebhookCaBundle.patch(api.client, ROOTS), "nothing to change twice");
    }
}

package io.jmesh.discovery.registry.kubernetes;

import java.util.Map;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * istiod's namespace controller: the ConfigMap {@value #NAME} (key {@value #KEY}: the mesh's trusted roots, PEM) in
 * every namespace, which injected sidecars mount to verify discovery. A {@link CoalescingInformers} group watches the
 * namespaces and the ConfigMaps labelled {@code istio.io/config=true}; each of their events, and the namespaces'
 * resync every minute, schedules one pass that compares every namespace's ConfigMap in the informers' cache with the
 * CA's current roots and writes those that differ: it is written when a namespace appears, put back when it is
 * deleted or edited, and rewritten after a root rotation. Namespaces {@code kube-system}, {@code kube-public} and
 * {@code kube-node-lease} are skipped, as Istio does. A failed watch is retried in the background with a warning.
 * Writes block the group's thread; no event loop is involved. {@link #close()} stops the informers, not the client.
 */
public final class RootCertPublisher implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(RootCertPublisher.class);

    /** The ConfigMap's name. */
    public static final String NAME = "istio-ca-root-cert";
    /** The key of the roots in it. */
    public static final String KEY = "root-cert.pem";

    private static final java.util.Set<String> SKIPPED = java.util.Set.of("kube-system", "kube-public",
            "kube-node-lease");
    private static final long RESYNC_MILLIS = 60_000;

    private final KubernetesClient client;
    private final Supplier<String> roots;
    private final CoalescingInformers informers;
    private final SharedIndexInformer<Namespace> namespaces;
    private final SharedIndexInformer<ConfigMap> configMaps;

    private RootCertPublisher(KubernetesClient client, Supplier<String> roots, long resyncMillis) {
        this.client = client;
        this.roots = roots;
        this.informers = new CoalescingInformers("root-cert-publisher", this::publish, this::summary);
        this.namespaces = informers.watch(client.namespaces().runnableInformer(resyncMillis), "Namespace", null);
        this.configMaps = informers.watch(client.configMaps().inAnyNamespace().withLabel("istio.io/config", "true")
                .runnableInformer(0), "ConfigMap", null);
        informers.start();
    }

    /** Starts publishing {@code roots} (read at every pass) through {@code client}; returns without waiting. */
    public static RootCertPublisher start(KubernetesClient client, Supplier<String> roots) {
        return start(client, roots, RESYNC_MILLIS);
    }

    /** As {@link #start(KubernetesClient, Supplier)} with the namespaces' resync period (tests: a shorter one). */
    static RootCertPublisher start(KubernetesClient client, Supplier<String> roots, long resyncMillis) {
        return new RootCertPublisher(client, roots, resyncMillis);
    }

    private String summary() {
        return namespaces.getStore().list().size() + " namespaces";
    }

    private static String data(ConfigMap cm) {
        return cm == null || cm.getData() == null ? null : cm.getData().get(KEY);
    }

    /** One pass: every namespace whose cached ConfigMap does not hold the current roots is written. */
    private void publish() {
        String pem = roots.get();
        for (Namespace ns : namespaces.getStore().list()) {
            String namespace = ns.getMetadata().getName();
            if (!pem.equals(data(configMaps.getStore().getByKey(namespace + "/" + NAME)))) {
                ensure(namespace);
            }
        }
    }

    /** Writes the ConfigMap of {@code namespace} unless it already holds the current roots. */
    void ensure(String namespace) {
        if (SKIPPED.contains(namespace)) {
            return;
        }
        String pem = roots.get();
        try {
            var resource = client.configMaps().inNamespace(namespace).withName(NAME);
            ConfigMap current = resource.get();
            if (current != null && pem.equals(data(current))) {
                return;
            }
            ConfigMap want = new ConfigMapBuilder().withNewMetadata().withName(NAME).withNamespace(namespace)
                    .withLabels(Map.of("istio.io/config", "true")).endMetadata().withData(Map.of(KEY, pem)).build();
            if (current == null) {
                client.configMaps().inNamespace(namespace).resource(want).create();
                logger.info("{}/{} created", namespace, NAME);
            } else {
                client.configMaps().inNamespace(namespace).resource(new ConfigMapBuilder(current)
                        .editMetadata().addToLabels("istio.io/config", "true").endMetadata()
                        .withData(Map.of(KEY, pem)).build()).update();
                logger.info("{}/{} updated", namespace, NAME);
            }
        } catch (KubernetesClientException e) {
            // A conflict or a namespace being deleted: the next event or resync retries.
            logger.warn("{}/{}: {}", namespace, NAME, e.getMessage());
        }
    }

    @Override
    public void close() {
        informers.close();
    }
}

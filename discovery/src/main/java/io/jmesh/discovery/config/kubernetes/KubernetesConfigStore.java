package io.jmesh.discovery.config.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.ConfigStore;
import io.jmesh.discovery.registry.kubernetes.CoalescingInformers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Istio's custom resources read from the Kubernetes API server: one informer per kind that discovery reads
 * ({@link ConfigKind}: networking.istio.io, security.istio.io and telemetry.istio.io), in every namespace,
 * at the first version of its group that istiod serves ({@code v1}). Each object goes through
 * {@link ConfigParser} as JSON, exactly as a file's YAML does, so a bad object is rejected with the same
 * {@code field.path: value (expected: ...)} reason, and its source reads as its API path
 * ({@code kubernetes/apis/networking.istio.io/v1/namespaces/NS/virtualservices/NAME:1}). The API server
 * should have refused most bad objects already (Istio's CRDs carry schemas); discovery checks again.
 *
 * <p>A kind whose CRD is not installed (the list answers 404) counts as synced with no objects, with a
 * warning; install the CRD and restart discovery to read it. Other failures (API server down, RBAC) are
 * retried in the background and keep the last objects.
 *
 * <p>Thread-safety: all methods may be called from any thread; listeners run on the store's own thread
 * ({@link CoalescingInformers}).
 */
public final class KubernetesConfigStore implements ConfigStore {

    private static final Logger logger = LoggerFactory.getLogger(KubernetesConfigStore.class);

    private record Parsed(String resourceVersion, ConfigParser.Result result) {}

    private final KubernetesClient client;
    private final Map<ConfigKind, SharedIndexInformer<GenericKubernetesResource>> informers =
            new EnumMap<>(ConfigKind.class);
    private final CoalescingInformers group;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    /** Touched only on the group's thread. */
    private Map<String, Parsed> parsed = new HashMap<>();
    private volatile ConfigSnapshot current = ConfigSnapshot.EMPTY;

    /** Starts the informers on {@code client} and returns at once; the client stays the caller's. */
    public KubernetesConfigStore(KubernetesClient client) {
        this.client = Objects.requireNonNull(client, "client");
        this.group = new CoalescingInformers("kubernetes-config", this::rebuild,
                () -> current.configs().size() + " objects, " + current.errors().size() + " rejected");
        for (ConfigKind kind : ConfigKind.values()) {
            informers.put(kind, group.watch(client.genericKubernetesResources(context(kind)).inAnyNamespace()
                    .runnableInformer(0), kind.kindName(), plural(kind) + "." + kind.group().groupName()));
        }
        group.start();
    }

    /**
     * The API coordinates of {@code kind}: its group, the group's first version (EnvoyFilter: v1alpha3, its only one),
     * its plural.
     */
    public static ResourceDefinitionContext context(ConfigKind kind) {
        String apiVersion = kind == ConfigKind.ENVOY_FILTER ? "networking.istio.io/v1alpha3"
                : kind.group().expected().split(",")[0].trim();
        return new ResourceDefinitionContext.Builder()
                .withGroup(kind.group().groupName())
                .withVersion(apiVersion.substring(apiVersion.indexOf('/') + 1))
                .withKind(kind.kindName())
                .withPlural(plural(kind))
                .withNamespaced(true)
                .build();
    }

    /** Kubernetes' plural of a kind: {@code serviceentries}, {@code virtualservices}, {@code sidecars}. */
    public static String plural(ConfigKind kind) {
        String k = kind.kindName().toLowerCase(Locale.ROOT);
        if (k.endsWith("y") && k.length() > 1 && "aeiou".indexOf(k.charAt(k.length() - 2)) < 0) {
            return k.substring(0, k.length() - 1) + "ies";
        }
        return k.endsWith("s") ? k + "es" : k + "s";
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    @Override
    public ConfigSnapshot current() {
        return current;
    }

    @Override
    public boolean hasSynced() {
        return group.hasSynced();
    }

    @Override
    public void addListener(Runnable listener) {
        listeners.add(listener);
    }

    @Override
    public void close() {
        group.close();
    }

    /** On the group's thread: parses what changed since the last rebuild and tells the listeners. */
    private void rebuild() {
        ConfigSnapshot.Builder snapshot = new ConfigSnapshot.Builder(); // keys are unique: the API server's
        Map<String, Parsed> nextParsed = new HashMap<>();
        for (Map.Entry<ConfigKind, SharedIndexInformer<GenericKubernetesResource>> e : informers.entrySet()) {
            List<GenericKubernetesResource> objects = new ArrayList<>(e.getValue().getStore().list());
            objects.sort(Comparator.comparing(o -> o.getMetadata().getNamespace() + '/' + o.getMetadata().getName()));
            for (GenericKubernetesResource o : objects) {
                String key = e.getKey().kindName() + '/' + o.getMetadata().getNamespace() + '/'
                        + o.getMetadata().getName();
                String version = o.getMetadata().getResourceVersion();
                Parsed last = parsed.get(key);
                Parsed p = last != null && version != null && version.equals(last.resourceVersion()) ? last
                        : new Parsed(version, parse(e.getKey(), o));
                nextParsed.put(key, p);
                snapshot.add(p.result());
            }
        }
        parsed = nextParsed;
        ConfigSnapshot next = snapshot.build(null);
        if (next.equals(current)) {
            return;
        }
        next.logNewProblems(current, logger);
        current = next;
        listeners.forEach(Runnable::run);
    }

    private ConfigParser.Result parse(ConfigKind kind, GenericKubernetesResource o) {
        ResourceDefinitionContext ctx = context(kind);
        String ns = o.getMetadata().getNamespace() == null ? "default" : o.getMetadata().getNamespace();
        Path source = Path.of("kubernetes", "apis", ctx.getGroup(), ctx.getVersion(), "namespaces", ns, ctx.getPlural(),
                o.getMetadata().getName());
        String json = client.getKubernetesSerialization().asJson(o);
        return ConfigParser.parse(source, json, ns);
    }
}

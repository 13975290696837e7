package io.jmesh.cli.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every object {@code jmesh manifest generate} prints is a valid Kubernetes object of its kind: it reads into
 * fabric8's typed model with no field left over (a misspelt or misplaced field would land in
 * {@code additionalProperties}), loses nothing on the way back to YAML, and applies to an API server, which
 * serves it back. The server is a FAKE: fabric8's {@code KubernetesMockServer} in CRUD mode on port 0 of 127.0.0.1
 * (no real API server can run here; it stores objects without OpenAPI validation, which the typed model stands in
 * for). After the CRDs are applied, an Istio VirtualService is created through its {@code v1} API and read back.
 */
@Tag("kubernetes")
class ManifestKubernetesTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    @ParameterizedTest
    @ValueSource(strings = {"default", "demo-canary"})
    void everyObjectIsTypedStrictlyAndAppliesToTheApiServer(String variant) throws Exception {
        Chart chart = Chart.fromClasspath();
        List<Chart.Manifest> manifests = chart.render(variant.equals("default")
                ? chart.values(List.of(), List.of(), null)
                : chart.values(List.of(ManifestGenerateTest.CHART.resolve("values-demo.yaml")), List.of(), "canary"));

        List<HasMetadata> typed = new ArrayList<>();
        for (Chart.Manifest m : manifests) {
            String where = m.source() + " " + m.kind() + "/" + m.name();
            Object object = SERIALIZATION.unmarshal(m.yaml());
            assertFalse(object instanceof GenericKubernetesResource, where + ": not a kind of fabric8's typed model");
            List<String> unknown = new ArrayList<>();
            unknownFields(object, m.kind(), unknown, 0);
            assertEquals(List.of(), unknown, where + ": fields the model does not have");
            @SuppressWarnings("unchecked")
            Map<String, Object> original = YAML.readValue(m.yaml(), Map.class);
            @SuppressWarnings("unchecked")
            Map<String, Object> back = SERIALIZATION.convertValue(object, Map.class);
            assertEquals(List.of(), differences("", normalize(original), normalize(back)),
                    where + ": changed by the typed model");
            typed.add((HasMetadata) object);
        }
        assertTrue(typed.stream().anyMatch(o -> o instanceof Deployment), "Deployments rendered");

        KubernetesMockServer server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(),
                new io.fabric8.mockwebserver.MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getByName("127.0.0.1"), 0);
        try (KubernetesClient client = server.createClient()) {
            for (HasMetadata o : typed) {
                client.resource(o).create();
            }
            for (HasMetadata o : typed) {
                HasMetadata read = client.resource(o).get();
                String where = o.getKind() + "/" + o.getMetadata().getName();
                assertNotNull(read, where + " was not stored");
                assertEquals(o.getMetadata().getLabels(), read.getMetadata().getLabels(), where);
                assertEquals(List.of(), differences("", normalize(withoutMetadata(o)), normalize(withoutMetadata(read))),
                        where + ": read back differently");
            }
            assertEquals(13, client.apiextensions().v1().customResourceDefinitions().list().getItems().size());

            // Istio's configuration can now be stored: a VirtualService through networking.istio.io/v1
            CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                    .withName("virtualservices.networking.istio.io").get();
            ResourceDefinitionContext vs = new ResourceDefinitionContext.Builder()
                    .withGroup(crd.getSpec().getGroup()).withVersion("v1").withKind(crd.getSpec().getNames().getKind())
                    .withPlural(crd.getSpec().getNames().getPlural()).withNamespaced(true).build();
            GenericKubernetesResource reviews = new GenericKubernetesResourceBuilder()
                    .withApiVersion("networking.istio.io/v1").withKind("VirtualService")
                    .withNewMetadata().withName("reviews").withNamespace("default").endMetadata()
                    .withAdditionalProperties(Map.of("spec", Map.of("hosts", List.of("reviews"),
                            "http", List.of(Map.of("route", List.of(Map.of("destination", Map.of("host", "reviews"))))))))
                    .build();
            client.genericKubernetesResources(vs).inNamespace("default").resource(reviews).create();
            List<GenericKubernetesResource> listed = client.genericKubernetesResources(vs).inNamespace("default").list()
                    .getItems();
            assertEquals(List.of("reviews"), listed.stream().map(r -> r.getMetadata().getName()).toList());
            assertEquals(List.of("reviews"), ManifestGenerateTest.at(listed.get(0).getAdditionalProperties(),
                    "spec", "hosts"));
        } finally {
            server.destroy();
        }
    }

    /**
     * The demo of docs/kubernetes.md ({@code deploy/kubernetes/demo.yaml}): its Kubernetes objects are typed strictly
     * as above, its Istio objects pass discovery's validation, and all of it applies after the manifests.
     */
    @Test
    void theDemoAppliesAfterTheManifests() throws Exception {
        Path demo = ManifestGenerateTest.CHART.resolve("../../kubernetes/demo.yaml").normalize();
        String yaml = Files.readString(demo);
        io.jmesh.discovery.config.ConfigParser.Result istio = io.jmesh.discovery.config.ConfigParser.parse(demo, yaml);
        List<String> istioKinds = istio.configs().stream().map(c -> c.meta().kind().kindName() + "/" + c.meta().namespace() + "/" + c.meta().name())
                .toList();
        assertEquals(List.of("Gateway/demo/httpbin-gateway", "VirtualService/demo/httpbin"), istioKinds,
                String.valueOf(istio.errors()));

        Chart chart = Chart.fromClasspath();
        KubernetesMockServer server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(),
                new io.fabric8.mockwebserver.MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getByName("127.0.0.1"), 0);
        try (KubernetesClient client = server.createClient()) {
            for (Chart.Manifest m : chart.render(chart.values(List.of(), List.of(), null))) {
                client.resource((HasMetadata) SERIALIZATION.unmarshal(m.yaml())).create();
            }
            int kubernetesObjects = 0;
            for (String doc : yaml.split("\n---\n")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> map = YAML.readValue(doc, Map.class);
                String apiVersion = (String) map.get("apiVersion");
                if (apiVersion.contains("istio.io")) {
                    String kind = (String) map.get("kind");
                    ResourceDefinitionContext context = new ResourceDefinitionContext.Builder()
                            .withGroup(apiVersion.substring(0, apiVersion.indexOf('/'))).withVersion("v1").withKind(kind)
                            .withPlural(kind.toLowerCase(java.util.Locale.ROOT) + "s").withNamespaced(true).build();
                    client.genericKubernetesResources(context).inNamespace("demo")
                            .resource(SERIALIZATION.unmarshal(doc, GenericKubernetesResource.class)).create();
                    continue;
                }
                Object object = SERIALIZATION.unmarshal(doc);
                String where = "demo.yaml " + map.get("kind") + "/" + ManifestGenerateTest.at(map, "metadata", "name");
                assertFalse(object instanceof GenericKubernetesResource, where + ": not a kind of fabric8's typed model");
                List<String> unknown = new ArrayList<>();
                unknownFields(object, (String) map.get("kind"), unknown, 0);
                assertEquals(List.of(), unknown, where + ": fields the model does not have");
                client.resource((HasMetadata) object).create();
                kubernetesObjects++;
            }
            assertEquals(6, kubernetesObjects);
            assertEquals("enabled", client.namespaces().withName("demo").get().getMetadata().getLabels()
                    .get("istio-injection"));
            assertEquals(List.of("curl", "httpbin"), client.apps().deployments().inNamespace("demo").list().getItems()
                    .stream().map(d -> d.getMetadata().getName()).sorted().toList());
        } finally {
            server.destroy();
        }
    }

    /** Every non-empty {@code additionalProperties} map of fabric8's model under {@code o}, with its path. */
    private static void unknownFields(Object o, String path, List<String> out, int depth) throws Exception {
        if (o == null || depth > 40 || o instanceof String || o instanceof Number || o instanceof Boolean
                || o instanceof Enum<?>) {
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                unknownFields(e.getValue(), path + "." + e.getKey(), out, depth + 1);
            }
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object x : c) {
                unknownFields(x, path + "[" + i++ + "]", out, depth + 1);
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            String name = m.getName();
            if (m.getParameterCount() != 0 || m.getDeclaringClass() == Object.class
                    || !(name.startsWith("get") || name.startsWith("is")) || name.equals("getClass")) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(o);
            } catch (InvocationTargetException e) {
                continue;
            }
            if (name.equals("getAdditionalProperties") && value instanceof Map<?, ?> extra) {
                if (!extra.isEmpty()) {
                    out.add(path + ": " + extra.keySet());
                }
            } else {
                unknownFields(value, path + "." + name.replaceFirst("^(get|is)", ""), out, depth + 1);
            }
        }
    }

    private static Map<String, Object> withoutMetadata(HasMetadata o) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new LinkedHashMap<>(SERIALIZATION.convertValue(o, Map.class));
        m.remove("metadata");
        m.remove("status");
        return m;
    }

    /** The paths where {@code a} and {@code b} differ, with both values. */
    private static List<String> differences(String path, Object a, Object b) {
        List<String> out = new ArrayList<>();
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            java.util.Set<Object> keys = new java.util.LinkedHashSet<>(ma.keySet());
            keys.addAll(mb.keySet());
            for (Object k : keys) {
                out.addAll(differences(path + "." + k, ma.get(k), mb.get(k)));
            }
        } else if (a instanceof List<?> la && b instanceof List<?> lb && la.size() == lb.size()) {
            for (int i = 0; i < la.size(); i++) {
                out.addAll(differences(path + "[" + i + "]", la.get(i), lb.get(i)));
            }
        } else if (!java.util.Objects.equals(a, b)) {
            out.add(path + ": " + a + (a == null ? "" : " (" + a.getClass().getSimpleName() + ")") + " != " + b
                    + (b == null ? "" : " (" + b.getClass().getSimpleName() + ")"));
        }
        return out;
    }

    /** Drops empty maps and lists (the model omits empty collections that the YAML writes as {} or []); int64 as Long. */
    private static Object normalize(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> {
                Object n = normalize(v);
                if (!(n instanceof Map<?, ?> nm && nm.isEmpty()) && !(n instanceof List<?> nl && nl.isEmpty())
                        && n != null) {
                    out.put(k, n);
                }
            });
            return out;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(normalize(x)));
            return out;
        }
        if (o instanceof Integer || o instanceof Short) {
            return ((Number) o).longValue();
        }
        return o;
    }
}

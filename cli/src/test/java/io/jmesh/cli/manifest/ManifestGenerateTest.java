package io.jmesh.cli.manifest;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.jmesh.cli.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jmesh manifest generate}: the objects it prints from the chart, Istio's names and ports, values from
 * {@code --set}, {@code -f} and {@code --revision}, and the errors for bad ones.
 */
class ManifestGenerateTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** The chart in the source tree, which the build copies into the jar. */
    static final Path CHART = Path.of("..", "deploy", "helm", "jmesh");

    /** The printed documents, parsed. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> documents(String out) throws Exception {
        return YAML.readerFor(Map.class).<Map<String, Object>>readValues(out).readAll().stream()
                .filter(m -> m != null && !m.isEmpty()).toList();
    }

    private static Map<String, Object> find(List<Map<String, Object>> docs, String kind, String name) {
        return docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(at(d, "metadata", "name")))
                .findFirst().orElseThrow(() -> new AssertionError("no " + kind + "/" + name + " in " + docs.stream()
                        .map(d -> d.get("kind") + "/" + at(d, "metadata", "name")).toList()));
    }

    @SuppressWarnings("unchecked")
    static Object at(Object o, Object... path) {
        for (Object p : path) {
            o = p instanceof Integer i ? ((List<Object>) o).get(i) : ((Map<String, Object>) o).get(p);
        }
        return o;
    }

    @Test
    void printsIstiosObjectsInInstallOrder() throws Exception {
        CliRun run = jmesh("manifest", "generate");
        assertEquals(0, run.exit(), run.err());
        List<Map<String, Object>> docs = documents(run.out());
        List<String> objects = docs.stream().filter(d -> !d.get("kind").equals("CustomResourceDefinition"))
                .map(d -> d.get("kind") + "/" + at(d, "metadata", "name")).toList();
        assertEquals(List.of("Namespace/istio-system", "ServiceAccount/istiod", "ServiceAccount/istio-ingressgateway",
                "ConfigMap/istio", "ClusterRole/istiod-clusterrole-istio-system",
                "ClusterRoleBinding/istiod-clusterrole-istio-system", "Role/istiod", "RoleBinding/istiod",
                "Service/istio-ingressgateway", "Service/istiod", "Deployment/istiod",
                "Deployment/istio-ingressgateway", "MutatingWebhookConfiguration/istio-sidecar-injector",
                "ValidatingWebhookConfiguration/istio-validator-istio-system"), objects);
        // the CRDs come right after the Namespace's neighbours and before anything that uses them
        List<String> crds = docs.stream().filter(d -> d.get("kind").equals("CustomResourceDefinition"))
                .map(d -> (String) at(d, "metadata", "name")).sorted().toList();
        assertEquals(List.of("authorizationpolicies.security.istio.io", "destinationrules.networking.istio.io",
                "envoyfilters.networking.istio.io", "gateways.networking.istio.io",
                "peerauthentications.security.istio.io", "proxyconfigs.networking.istio.io",
                "requestauthentications.security.istio.io", "serviceentries.networking.istio.io",
                "sidecars.networking.istio.io", "telemetries.telemetry.istio.io",
                "virtualservices.networking.istio.io", "workloadentries.networking.istio.io",
                "workloadgroups.networking.istio.io"), crds);
        assertTrue(run.out().startsWith("---\n# Source: jmesh/templates/namespace.yaml\napiVersion: v1\n"), run.out());
    }

    @Test
    void crdsServeIstiosVersionsWithOneStorageVersion() throws Exception {
        List<Map<String, Object>> docs = documents(jmesh("manifest", "generate").out());
        Map<String, Object> vs = find(docs, "CustomResourceDefinition", "virtualservices.networking.istio.io");
        assertEquals("networking.istio.io", at(vs, "spec", "group"));
        assertEquals(List.of("vs"), at(vs, "spec", "names", "shortNames"));
        List<?> versions = (List<?>) at(vs, "spec", "versions");
        assertEquals(List.of("v1alpha3", "v1beta1", "v1"), versions.stream().map(v -> at(v, "name")).toList());
        assertEquals(List.of(true, false, false), versions.stream().map(v -> at(v, "storage")).toList());
        Map<String, Object> pa = find(docs, "CustomResourceDefinition", "peerauthentications.security.istio.io");
        assertEquals(List.of("v1beta1", "v1"),
                ((List<?>) at(pa, "spec", "versions")).stream().map(v -> at(v, "name")).toList());
        Map<String, Object> tel = find(docs, "CustomResourceDefinition", "telemetries.telemetry.istio.io");
        assertEquals(true, at(tel, "spec", "versions", 1, "schema", "openAPIV3Schema", "properties", "spec",
                "x-kubernetes-preserve-unknown-fields"));
    }

    @Test
    void istiodHasIstiosPortsAndDiscoveryTheMatchingFlags() throws Exception {
        List<Map<String, Object>> docs = documents(jmesh("manifest", "generate").out());
        Map<String, Object> svc = find(docs, "Service", "istiod");
        assertEquals(List.of("grpc-xds:15010->null", "https-dns:15012->null", "https-webhook:443->15017",
                        "http-monitoring:15014->null"),
                ((List<?>) at(svc, "spec", "ports")).stream()
                        .map(p -> at(p, "name") + ":" + at(p, "port") + "->" + at(p, "targetPort")).toList());
        Map<String, Object> deploy = find(docs, "Deployment", "istiod");
        Object container = at(deploy, "spec", "template", "spec", "containers", 0);
        assertEquals(List.of("discovery", "--kubernetes", "--domain=cluster.local",
                "--ca-secret=istio-system/istio-ca-secret", "--mesh-config=/etc/istio/config/mesh",
                "--grpc-addr=0.0.0.0:15010", "--secure-grpc-addr=0.0.0.0:15012", "--monitoring-addr=0.0.0.0:15014",
                "--webhook-port=15017"), at(container, "args"));
        assertEquals(Map.of("path", "/ready", "port", 15014), at(container, "readinessProbe", "httpGet"));
        assertEquals(1337, at(deploy, "spec", "template", "spec", "securityContext", "runAsUser"));
        assertEquals(at(deploy, "spec", "selector", "matchLabels"), at(svc, "spec", "selector"));
        // discovery reads its mesh config from the ConfigMap as Istio's
        assertEquals("istio", at(deploy, "spec", "template", "spec", "volumes", 0, "configMap", "name"));
        Object mesh = YAML.readValue((String) at(find(docs, "ConfigMap", "istio"), "data", "mesh"), Map.class);
        assertEquals("cluster.local", at(mesh, "trustDomain"));
    }

    @Test
    void webhooksSelectAsIstiosAndCallDiscovery() throws Exception {
        List<Map<String, Object>> docs = documents(jmesh("manifest", "generate").out());
        Map<String, Object> inject = find(docs, "MutatingWebhookConfiguration", "istio-sidecar-injector");
        Object ns = at(inject, "webhooks", 0);
        assertEquals("namespace.sidecar-injector.istio.io", at(ns, "name"));
        assertEquals(List.of(Map.of("key", "istio-injection", "operator", "In", "values", List.of("enabled"))),
                at(ns, "namespaceSelector", "matchExpressions"));
        assertEquals(List.of(Map.of("key", "sidecar.istio.io/inject", "operator", "NotIn", "values", List.of("false"))),
                at(ns, "objectSelector", "matchExpressions"));
        assertEquals(Map.of("name", "istiod", "namespace", "istio-system", "path", "/inject", "port", 443),
                at(ns, "clientConfig", "service"));
        assertEquals(List.of("pods"), at(ns, "rules", 0, "resources"));
        assertEquals("object.sidecar-injector.istio.io", at(inject, "webhooks", 1, "name"));
        Map<String, Object> validate = find(docs, "ValidatingWebhookConfiguration", "istio-validator-istio-system");
        assertEquals("/validate", at(validate, "webhooks", 0, "clientConfig", "service", "path"));
        assertEquals(List.of("networking.istio.io", "security.istio.io", "telemetry.istio.io"),
                at(validate, "webhooks", 0, "rules", 0, "apiGroups"));
    }

    @Test
    void revisionRenamesTheControlPlaneAndSelectsItsLabel() throws Exception {
        CliRun run = jmesh("manifest", "generate", "--revision", "canary", "--set", "gateway.enabled=false");
        assertEquals(0, run.exit(), run.err());
        List<Map<String, Object>> docs = documents(run.out());
        Map<String, Object> deploy = find(docs, "Deployment", "istiod-canary");
        assertEquals("canary", at(deploy, "metadata", "labels", "istio.io/rev"));
        find(docs, "Service", "istiod-canary");
        find(docs, "ConfigMap", "istio-canary");
        Map<String, Object> inject = find(docs, "MutatingWebhookConfiguration", "istio-sidecar-injector-canary");
        assertEquals("rev.namespace.sidecar-injector.istio.io", at(inject, "webhooks", 0, "name"));
        assertEquals(List.of(Map.of("key", "istio.io/rev", "operator", "In", "values", List.of("canary")),
                        Map.of("key", "istio-injection", "operator", "DoesNotExist")),
                at(inject, "webhooks", 0, "namespaceSelector", "matchExpressions"));
        assertEquals("istiod-canary", at(inject, "webhooks", 0, "clientConfig", "service", "name"));
        assertTrue(docs.stream().noneMatch(d -> String.valueOf(at(d, "metadata", "name")).contains("ingressgateway")),
                "gateway.enabled=false leaves the gateway out");
    }

    @Test
    void valuesFilesAndSetMergeOverTheChartsValues(@TempDir Path dir) throws Exception {
        Path extra = dir.resolve("extra.yaml");
        Files.writeString(extra, """
                pilot:
                  replicaCount: 3
                  extraArgs: ["--registry", "zookeeper://zk.infra:2181"]
                  nodeSelector: {disk: ssd}
                meshConfig:
                  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
                """);
        CliRun run = jmesh("manifest", "generate", "-f", CHART.resolve("values-demo.yaml").toString(), "-f",
                extra.toString(), "--set", "global.image=registry.example/jmesh:1.2,gateway.serviceType=ClusterIP");
        assertEquals(0, run.exit(), run.err());
        List<Map<String, Object>> docs = documents(run.out());
        Map<String, Object> deploy = find(docs, "Deployment", "istiod");
        assertEquals(3, at(deploy, "spec", "replicas"));
        Object pod = at(deploy, "spec", "template", "spec");
        assertEquals("registry.example/jmesh:1.2", at(pod, "containers", 0, "image"));
        List<?> args = (List<?>) at(pod, "containers", 0, "args");
        assertEquals(List.of("--registry", "zookeeper://zk.infra:2181"), args.subList(args.size() - 2, args.size()));
        assertEquals(Map.of("disk", "ssd"), at(pod, "nodeSelector"));
        assertEquals("256Mi", at(pod, "containers", 0, "resources", "requests", "memory"), "from values-demo.yaml");
        assertEquals("ClusterIP", at(find(docs, "Service", "istio-ingressgateway"), "spec", "type"));
        Object mesh = YAML.readValue((String) at(find(docs, "ConfigMap", "istio"), "data", "mesh"), Map.class);
        assertEquals("REGISTRY_ONLY", at(mesh, "outboundTrafficPolicy", "mode"));
        assertEquals("/dev/stdout", at(mesh, "accessLogFile"), "from values-demo.yaml");
        assertEquals("cluster.local", at(mesh, "trustDomain"), "kept from values.yaml");
    }

    @Test
    void badValuesAreRefusedByName(@TempDir Path dir) throws Exception {
        CliRun unknown = jmesh("manifest", "generate", "--set", "pilot.replicas=2");
        assertEquals(1, unknown.exit());
        assertTrue(unknown.err().startsWith("error: --set pilot.replicas=2: pilot.replicas: unknown value (expected: "
                + "one of [pilot.replicaCount, pilot.caSecret,"), unknown.err());
        assertEquals("", unknown.out());

        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "gateway:\n  enabled: true\n  replicaCount: [\n");
        CliRun broken = jmesh("manifest", "generate", "-f", bad.toString());
        assertEquals(1, broken.exit());
        assertTrue(broken.err().startsWith("error: " + bad + ":"), broken.err());

        CliRun revision = jmesh("manifest", "generate", "--revision", "Canary_1");
        assertEquals(1, revision.exit());
        assertEquals("error: --revision: Canary_1 (expected: a DNS label: lower-case letters, digits and '-', "
                + "e.g. 1-22 or canary)\n", revision.err());

        CliRun index = jmesh("manifest", "generate", "--set", "pilot.extraArgs[0]=x");
        assertEquals(1, index.exit());
        assertTrue(index.err().contains("lists and indexes [0] only with -f"), index.err());
    }

    /** The jar's copy of the chart is the source tree's: the build is not stale. */
    @Test
    void printsWhatTheSourceChartRendersTo() throws Exception {
        Chart source = Chart.load(CHART);
        String expected = Chart.print(source.render(source.values(List.of(), List.of(), null)));
        assertEquals(expected, jmesh("manifest", "generate").out());
    }
}

package io.jmesh.discovery.inject;

import static io.jmesh.discovery.inject.InjectTesting.container;
import static io.jmesh.discovery.inject.InjectTesting.env;
import static io.jmesh.discovery.inject.InjectTesting.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.zjsonpatch.JsonPatch;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.CertificateAuthority;
import io.jmesh.security.ca.Pem;
import io.jmesh.security.ca.server.CaTls;

/**
 * The webhooks as the API server calls them: real AdmissionReview JSON posted over TLS (a serving certificate from
 * the mesh CA, verified by the JDK's HttpClient) to a webhook on port 0; the returned JSONPatch is applied to the
 * pod with zjsonpatch and the result read as a fabric8 Pod.
 */
class AdmissionWebhookTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final tools.jackson.databind.ObjectMapper JSON3 = new tools.jackson.databind.json.JsonMapper();

    /** Namespaces and their labels, as the API server would return them. */
    private static final Map<String, Map<String, String>> NAMESPACES = Map.of(
            "default", Map.of("istio-injection", "enabled"),
            "plain", Map.of(),
            "off", Map.of("istio-injection", "disabled"));

    private CertificateAuthority ca;
    private AdmissionWebhook webhook;
    private HttpClient client;

    @BeforeEach
    void start() throws Exception {
        ca = new CertificateAuthority(CaRoots.selfSigned("cluster.local", Duration.ofDays(1), Clock.systemUTC()));
        webhook = AdmissionWebhook.start(new InetSocketAddress("127.0.0.1", 0),
                AdmissionWebhook.tlsFromCa(ca, List.of("istiod.istio-system.svc"), List.of("127.0.0.1")),
                new SidecarInjector(InjectionSettings.DEFAULT), NAMESPACES::get);
        client = clientTrusting(ca);
    }

    @AfterEach
    void stop() {
        webhook.close();
    }

    private static HttpClient clientTrusting(CertificateAuthority ca) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {CaTls.trustManager(ca)}, null);
        return HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** An AdmissionReview for a pod of Deployment hello, as kube-apiserver sends it for a ReplicaSet's CREATE. */
    static String podReview(String namespace, String labels, String annotations) {
        return """
                {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{
                  "uid":"0df28fbd-5f5f-11e8-bc74-36e6bb280816",
                  "kind":{"group":"","version":"v1","kind":"Pod"},
                  "resource":{"group":"","version":"v1","resource":"pods"},
                  "requestKind":{"group":"","version":"v1","kind":"Pod"},
                  "requestResource":{"group":"","version":"v1","resource":"pods"},
                  "namespace":"@NS@","operation":"CREATE",
                  "userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller",
                    "uid":"a7e0ab33-5f29-11e8-8a3c-36e6bb280816",
                    "groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},
                  "object":{"kind":"Pod","apiVersion":"v1","metadata":{
                      "generateName":"hello-7d4b9c6f5d-","creationTimestamp":null,
                      "labels":{"app":"hello","pod-template-hash":"7d4b9c6f5d"@LABELS@},
                      "annotations":{@ANNOTATIONS@},
                      "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"hello-7d4b9c6f5d",
                        "uid":"8c2b3a34-5f5f-11e8-bc74-36e6bb280816","controller":true,"blockOwnerDeletion":true}]},
                    "spec":{
                      "volumes":[{"name":"kube-api-access-x2x7c","projected":{"sources":[{"serviceAccountToken":
                        {"expirationSeconds":3607,"path":"token"}}],"defaultMode":420}}],
                      "containers":[{"name":"hello","image":"fake.docker.io/google-samples/hello-go-gke:1.0",
                        "ports":[{"name":"http","containerPort":80,"protocol":"TCP"}],
                        "readinessProbe":{"httpGet":{"path":"/ready","port":"http","scheme":"HTTP"},
                          "timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
                        "resources":{},
                        "volumeMounts":[{"name":"kube-api-access-x2x7c","readOnly":true,
                          "mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],
                        "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",
                        "imagePullPolicy":"IfNotPresent"}],
                      "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst",
                      "serviceAccountName":"default","serviceAccount":"default","securityContext":{},
                      "schedulerName":"default-scheduler","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},
                    "status":{}},
                  "oldObject":null,"dryRun":false,
                  "options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}
                """.replace("@NS@", namespace).replace("@LABELS@", labels).replace("@ANNOTATIONS@", annotations);
    }

    private JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                        + webhook.address().getPort() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode review = JSON.readTree(r.body());
        assertEquals("admission.k8s.io/v1", review.get("apiVersion").asText());
        assertEquals("AdmissionReview", review.get("kind").asText());
        assertEquals(JSON.readTree(body).at("/request/uid").asText(), review.at("/response/uid").asText());
        return review.get("response");
    }

    /** Applies the response's patch to the request's pod, as the API server does. */
    private static Pod patched(String reviewJson, JsonNode response) throws Exception {
        assertEquals("JSONPatch", response.get("patchType").asText());
        String patch = new String(Base64.getDecoder().decode(response.get("patch").asText()), StandardCharsets.UTF_8);
        tools.jackson.databind.JsonNode pod = JSON3.readTree(reviewJson).at("/request/object");
        tools.jackson.databind.JsonNode result = JsonPatch.apply(JSON3.readTree(patch), pod);
        return InjectTesting.SERIALIZATION.unmarshal(JSON3.writeValueAsString(result), Pod.class);
    }

    @Test
    void aPodInAnInjectionEnabledNamespaceGetsTheSidecarByJsonPatch() throws Exception {
        String review = podReview("default", "", "");
        JsonNode response = post("/inject", review);
        assertTrue(response.get("allowed").asBoolean());
        Pod pod = patched(review, response);
        assertEquals(List.of("hello", "istio-proxy"), names(pod.getSpec().getContainers()));
        assertEquals(List.of("istio-init"), names(pod.getSpec().getInitContainers()));
        assertEquals(List.of("kube-api-access-x2x7c", "workload-socket", "istio-envoy", "istio-data", "istio-podinfo",
                "istio-token", "istiod-ca-cert"), pod.getSpec().getVolumes().stream().map(v -> v.getName()).toList());
        Container proxy = container(pod.getSpec().getContainers(), "istio-proxy");
        assertEquals("kubernetes://apis/apps/v1/namespaces/default/deployments/hello", env(proxy, "ISTIO_META_OWNER"));
        assertEquals("hello", env(proxy, "ISTIO_META_WORKLOAD_NAME"));
        assertEquals("{\"/app-health/hello/readyz\":{\"httpGet\":{\"path\":\"/ready\",\"port\":80}," +
                "\"timeoutSeconds\":1}}", env(proxy, "ISTIO_KUBE_APP_PROBERS"));
        Container hello = container(pod.getSpec().getContainers(), "hello");
        assertEquals("/app-health/hello/readyz", hello.getReadinessProbe().getHttpGet().getPath());
        assertEquals(15020, hello.getReadinessProbe().getHttpGet().getPort().getIntVal());
        assertEquals("IfNotPresent", hello.getImagePullPolicy()); // the rest of the pod is as it was
        assertTrue(pod.getMetadata().getAnnotations().containsKey("sidecar.istio.io/status"));
        assertEquals("istio", pod.getMetadata().getLabels().get("security.istio.io/tlsMode"));
        assertEquals("hello-7d4b9c6f5d-", pod.getMetadata().getGenerateName());
    }

    @Test
    void theOwnerIsUnderApisEvenForCoreKindsAsIstiosTemplate() throws Exception {
        // A pod of a ReplicationController (core group, apiVersion v1): Istio writes kubernetes://apis/v1/...
        com.fasterxml.jackson.databind.node.ObjectNode tree =
                (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(podReview("default", "", ""));
        com.fasterxml.jackson.databind.node.ObjectNode meta =
                (com.fasterxml.jackson.databind.node.ObjectNode) tree.at("/request/object/metadata");
        meta.set("ownerReferences", JSON.readTree("""
                [{"apiVersion":"v1","kind":"ReplicationController","name":"hello-rc",
                  "uid":"8c2b3a34-5f5f-11e8-bc74-36e6bb280817","controller":true,"blockOwnerDeletion":true}]"""));
        String review = JSON.writeValueAsString(tree);
        Container proxy = container(patched(review, post("/inject", review)).getSpec().getContainers(), "istio-proxy");
        assertEquals("kubernetes://apis/v1/namespaces/default/replicationcontrollers/hello-rc",
                env(proxy, "ISTIO_META_OWNER"));
        assertEquals("hello-rc", env(proxy, "ISTIO_META_WORKLOAD_NAME"));

        // A pod without a controller is its own workload.
        meta.remove("ownerReferences");
        meta.remove("generateName");
        meta.put("name", "hello-debug");
        review = JSON.writeValueAsString(tree);
        proxy = container(patched(review, post("/inject", review)).getSpec().getContainers(), "istio-proxy");
        assertEquals("kubernetes://apis/v1/namespaces/default/pods/hello-debug", env(proxy, "ISTIO_META_OWNER"));
        assertEquals("hello-debug", env(proxy, "ISTIO_META_WORKLOAD_NAME"));
    }

    @Test
    void namespaceAndObjectSelectorsDecideAsIstiosWebhookConfiguration() throws Exception {
        // No istio-injection label: only a pod labelled sidecar.istio.io/inject=true.
        assertFalse(post("/inject", podReview("plain", "", "")).has("patch"));
        String optIn = podReview("plain", ",\"sidecar.istio.io/inject\":\"true\"", "");
        assertEquals(List.of("hello", "istio-proxy"),
                names(patched(optIn, post("/inject", optIn)).getSpec().getContainers()));
        // istio-injection=enabled, but the pod says no (label, then annotation).
        assertFalse(post("/inject", podReview("default", ",\"sidecar.istio.io/inject\":\"false\"", "")).has("patch"));
        assertFalse(post("/inject", podReview("default", "", "\"sidecar.istio.io/inject\":\"false\"")).has("patch"));
        // istio-injection=disabled wins over the pod's label.
        assertFalse(post("/inject", podReview("off", ",\"sidecar.istio.io/inject\":\"true\"", "")).has("patch"));
        // kube-system is never injected.
        JsonNode r = post("/inject", podReview("kube-system", ",\"sidecar.istio.io/inject\":\"true\"", ""));
        assertTrue(r.get("allowed").asBoolean());
        assertFalse(r.has("patch"));
    }

    @Test
    void aPodWithABadAnnotationIsRefusedWithTheAnnotationsName() throws Exception {
        JsonNode r = post("/inject", podReview("default", "",
                "\"traffic.sidecar.istio.io/includeOutboundIPRanges\":\"10.0.0.0/33\""));
        assertFalse(r.get("allowed").asBoolean());
        assertEquals("injection failed: metadata.annotations[traffic.sidecar.istio.io/includeOutboundIPRanges]: "
                + "10.0.0.0/33 (expected: * or a comma-separated list of IPv4 CIDRs such as 10.0.0.0/8 (IPv6 is not "
                + "supported))", r.at("/status/message").asText());
    }

    private static String configReview(String object) {
        return """
                {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{
                  "uid":"0df28fbd-5f5f-11e8-bc74-36e6bb280816",
                  "kind":{"group":"networking.istio.io","version":"v1","kind":"DestinationRule"},
                  "resource":{"group":"networking.istio.io","version":"v1","resource":"destinationrules"},
                  "name":"reviews","namespace":"default","operation":"CREATE",
                  "userInfo":{"username":"kubernetes-admin","groups":["system:masters","system:authenticated"]},
                  "object":OBJECT,"oldObject":null,"dryRun":false}}
                """.replace("OBJECT", object);
    }

    @Test
    void theValidatingWebhookRefusesWhatDiscoveryWouldRejectWithItsMessage() throws Exception {
        JsonNode bad = post("/validate", configReview("""
                {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule",
                 "metadata":{"name":"reviews","namespace":"default","uid":"x","generation":1},
                 "spec":{"host":"reviews","trafficPolicy":{"loadBalancer":{"simple":"FASTEST"}}}}
                """));
        assertFalse(bad.get("allowed").asBoolean());
        assertTrue(bad.at("/status/message").asText().startsWith(
                "configuration is invalid: spec.trafficPolicy.loadBalancer.simple: FASTEST (expected: "),
                bad.toString());

        JsonNode good = post("/validate", configReview("""
                {"apiVersion":"networking.istio.io/v1","kind":"DestinationRule",
                 "metadata":{"name":"reviews","namespace":"default"},
                 "spec":{"host":"reviews","subsets":[{"name":"v1","labels":{"version":"v1"}}]}}
                """));
        assertTrue(good.get("allowed").asBoolean());
        assertFalse(good.has("warnings"));

        JsonNode other = post("/validate", configReview("""
                {"apiVersion":"networking.istio.io/v1alpha3","kind":"MadeUpKind",
                 "metadata":{"name":"f","namespace":"default"},"spec":{}}
                """));
        assertTrue(other.get("allowed").asBoolean());
        assertTrue(other.at("/warnings/0").asText().startsWith(
                "MadeUpKind networking.istio.io/v1alpha3 is not read by jmesh discovery"), other.toString());
    }

    @Test
    void somethingOtherThanAnAdmissionReviewIsABadRequest() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                        + webhook.address().getPort() + "/inject"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"kind\":\"Pod\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, r.statusCode());
        assertEquals("body: apiVersion , kind Pod (expected: an admission.k8s.io/v1 AdmissionReview with request.uid)\n",
                r.body());
    }

    @Test
    void tlsFromGivenCertificateAndKeyFiles(@TempDir Path dir) throws Exception {
        KeyPair kp = CaRoots.newEcKeyPair();
        List<java.security.cert.X509Certificate> chain = ca.issueServing(kp.getPublic(),
                List.of("istiod.istio-system.svc"), List.of("127.0.0.1"), Duration.ofHours(1));
        Path cert = Files.writeString(dir.resolve("tls.crt"), Pem.encode(chain));
        Path key = Files.writeString(dir.resolve("tls.key"), Pem.encode(kp.getPrivate()));
        try (AdmissionWebhook fromFiles = AdmissionWebhook.start(new InetSocketAddress("127.0.0.1", 0),
                AdmissionWebhook.tlsFromFiles(cert, key), new SidecarInjector(InjectionSettings.DEFAULT),
                NAMESPACES::get)) {
            String review = podReview("default", "", "");
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                            + fromFiles.address().getPort() + "/inject"))
                    .POST(HttpRequest.BodyPublishers.ofString(review)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertEquals(List.of("hello", "istio-proxy"), names(patched(review,
                    JSON.readTree(r.body()).get("response")).getSpec().getContainers()));
        }
        Path notPem = Files.writeString(dir.resolve("bad.key"), "nothing");
        assertEquals("--webhook-key: " + notPem + " (expected: a PEM private key: no unencrypted PRIVATE KEY, "
                        + "EC PRIVATE KEY or RSA PRIVATE KEY block)",
                org.junit.jupiter.api.Assertions.assertThrows(io.jmesh.proxy.config.ConfigException.class,
                        () -> AdmissionWebhook.tlsFromFiles(cert, notPem)).getMessage());
    }
}

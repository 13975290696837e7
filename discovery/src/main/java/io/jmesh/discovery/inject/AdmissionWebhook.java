package io.jmesh.discovery.inject;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

import javax.net.ssl.SSLContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.zjsonpatch.JsonDiff;
import io.jmesh.discovery.config.ConfigError;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.proxy.config.ConfigException;

/**
 * istiod's admission webhooks over HTTPS: {@code POST /inject} (the mutating webhook of the
 * {@code istio-sidecar-injector} configuration) answers an {@code admission.k8s.io/v1} AdmissionReview for a Pod with
 * the JSONPatch that adds jmesh's sidecar, as decided by {@link InjectionPolicy} with the namespace's labels; and
 * {@code POST /validate} answers one for an Istio object with {@code allowed: false} and the validation message when
 * discovery would reject it (the same {@link ConfigParser} validation as files and CRDs).
 *
 * <p>Requests are served on a small pool of its own threads, never on an event loop. A body larger than
 * {@link #MAX_BODY_BYTES} or that is not an AdmissionReview gets HTTP 400 with the reason.
 */
public final class AdmissionWebhook implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(AdmissionWebhook.class);

    /** Largest AdmissionReview read (the API server's own request limit is 3 MiB). */
    public static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final tools.jackson.databind.ObjectMapper JSON3 = new tools.jackson.databind.json.JsonMapper();

    private final HttpsServer server;
    private final ExecutorService executor;
    private final SidecarInjector injector;
    private final Function<String, Map<String, String>> namespaceLabels;

    private AdmissionWebhook(HttpsServer server, ExecutorService executor, SidecarInjector injector,
                             Function<String, Map<String, String>> namespaceLabels) {
        this.server = server;
        this.executor = executor;
        this.injector = injector;
        this.namespaceLabels = namespaceLabels;
    }

    /**
     * Binds {@code address} (port 0 picks one) and serves both webhooks with {@code tls}.
     *
     * @param namespaceLabels the labels of a namespace by name, or {@code null} for one that cannot be looked up
     *                        (the namespace selector is then left to the API server's webhook configuration)
     */
    public static AdmissionWebhook start(InetSocketAddress address, SSLContext tls, SidecarInjector injector,
                                         Function<String, Map<String, String>> namespaceLabels) throws IOException {
        HttpsServer server = HttpsServer.create(address, 64);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "jmesh-webhook");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        AdmissionWebhook webhook = new AdmissionWebhook(server, executor, injector, namespaceLabels);
        server.createContext("/inject", x -> webhook.handle(x, true));
        server.createContext("/validate", x -> webhook.handle(x, false));
        server.start();
        logger.info("admission webhooks /inject and /validate on https://{}:{}",
                server.getAddress().getAddress().getHostAddress(), server.getAddress().getPort());
        return webhook;
    }

    /**
     * TLS with a serving certificate from the mesh CA for istiod's webhook names ({@code istiod.istio-system.svc},
     * the name of the webhook Service in Istio's configuration), renewed as the CA's own serving certificate is.
     */
    public static SSLContext tlsFromCa(io.jmesh.security.ca.CertificateAuthority ca, List<String> dnsNames,
                                       List<String> ipAddresses) throws java.security.GeneralSecurityException,
            io.jmesh.security.ca.CertificateRequestException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new javax.net.ssl.KeyManager[] {
                io.jmesh.security.ca.server.CaTls.servingKeyManager(ca, dnsNames, ipAddresses)}, null, null);
        return ctx;
    }

    /**
     * TLS from PEM files (e.g. a Secret made by cert-manager): the certificate chain and its private key.
     *
     * @throws ConfigException naming the file that cannot be used
     */
    public static SSLContext tlsFromFiles(java.nio.file.Path certFile, java.nio.file.Path keyFile)
            throws ConfigException {
        List<java.security.cert.X509Certificate> chain;
        java.security.PrivateKey key;
        try {
            chain = io.jmesh.security.ca.Pem.certificates(java.nio.file.Files.readString(certFile));
        } catch (IOException | java.security.cert.CertificateException e) {
            throw new ConfigException("--webhook-cert: " + certFile + " (expected: PEM certificates: " + e.getMessage()
                    + ")");
        }
        if (chain.isEmpty()) {
            throw new ConfigException("--webhook-cert: " + certFile + " (expected: at least one PEM certificate)");
        }
        try {
            key = io.jmesh.security.ca.Pem.privateKey(java.nio.file.Files.readString(keyFile));
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("--webhook-key: " + keyFile + " (expected: a PEM private key: " + e.getMessage()
                    + ")");
        }
        try {
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("webhook", key, new char[0], chain.toArray(java.security.cert.X509Certificate[]::new));
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new ConfigException("--webhook-key: " + keyFile + " (expected: the private key of " + certFile
                    + ": " + e.getMessage() + ")");
        }
    }

    /** The bound address. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private void handle(HttpExchange x, boolean inject) throws IOException {
        try (x) {
            if (!x.getRequestMethod().equals("POST")) {
                reply(x, 405, "method: " + x.getRequestMethod() + " (expected: POST)");
                return;
            }
            byte[] body;
            try (InputStream in = x.getRequestBody()) {
                body = in.readNBytes(MAX_BODY_BYTES + 1);
            }
            if (body.length > MAX_BODY_BYTES) {
                reply(x, 413, "body: more than " + MAX_BODY_BYTES + " bytes (expected: an AdmissionReview)");
                return;
            }
            JsonNode review;
            try {
                review = JSON.readTree(body);
            } catch (IOException e) {
                reply(x, 400, "body: not JSON (expected: an admission.k8s.io/v1 AdmissionReview)");
                return;
            }
            if (review == null || !"AdmissionReview".equals(review.path("kind").asText())
                    || !review.path("apiVersion").asText().equals("admission.k8s.io/v1")
                    || !review.path("request").path("uid").isTextual()) {
                reply(x, 400, "body: apiVersion " + (review == null ? "" : review.path("apiVersion").asText())
                        + ", kind " + (review == null ? "" : review.path("kind").asText())
                        + " (expected: an admission.k8s.io/v1 AdmissionReview with request.uid)");
                return;
            }
            ObjectNode response = inject ? inject(review.get("request")) : validate(review.get("request"));
            response.put("uid", review.get("request").get("uid").asText());
            ObjectNode out = JSON.createObjectNode();
            out.put("apiVersion", "admission.k8s.io/v1");
            out.put("kind", "AdmissionReview");
            out.set("response", response);
            byte[] bytes = JSON.writeValueAsBytes(out);
            x.getResponseHeaders().set("Content-Type", "application/json");
            x.sendResponseHeaders(200, bytes.length);
            try (OutputStream os = x.getResponseBody()) {
                os.write(bytes);
            }
        } catch (RuntimeException e) {
            logger.warn("webhook {}: {}", x.getRequestURI(), e.toString(), e);
        }
    }

    private ObjectNode inject(JsonNode request) {
        JsonNode object = request.path("object");
        String kind = request.path("kind").path("kind").asText();
        if (!kind.equals("Pod") || !object.isObject()) {
            return allowed(List.of());
        }
        String namespace = request.path("namespace").asText(object.path("metadata").path("namespace").asText(""));
        Pod pod;
        String original;
        try {
            pod = SERIALIZATION.unmarshal(JSON.writeValueAsString(object), Pod.class);
            original = SERIALIZATION.asJson(pod);
            pod = SERIALIZATION.unmarshal(original, Pod.class);
        } catch (IOException | RuntimeException e) {
            return denied(400, "object: " + e.getMessage().lines().findFirst().orElse("")
                    + " (expected: a Pod)");
        }
        if (pod.getMetadata() == null) {
            pod.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMeta());
        }
        if (pod.getSpec() == null) {
            return denied(400, "object.spec: missing (expected: a Pod spec)");
        }
        Map<String, String> nsLabels = null;
        if (namespaceLabels != null && !namespace.isEmpty()) {
            try {
                nsLabels = namespaceLabels.apply(namespace);
            } catch (RuntimeException e) {
                logger.warn("namespace {}: cannot read its labels ({}); leaving the namespace selector to the API "
                        + "server", namespace, e.toString());
            }
        }
        InjectionPolicy.Decision decision = InjectionPolicy.decide(namespace, nsLabels,
                pod.getMetadata().getLabels(), pod.getMetadata().getAnnotations(),
                Boolean.TRUE.equals(pod.getSpec().getHostNetwork()), injector.settings());
        String podName = pod.getMetadata().getName() != null ? pod.getMetadata().getName()
                : pod.getMetadata().getGenerateName();
        if (!decision.inject()) {
            logger.debug("pod {}/{}: not injected: {}", namespace, podName, decision.reason());
            return allowed(List.of());
        }
        SidecarInjector.Result result;
        try {
            result = injector.inject(pod.getMetadata(), pod.getSpec(), namespace, workload(pod, namespace));
        } catch (ConfigException e) {
            logger.info("pod {}/{}: injection refused: {}", namespace, podName, e.getMessage());
            return denied(400, "injection failed: " + e.getMessage());
        }
        tools.jackson.databind.JsonNode patch = JsonDiff.asJson(JSON3.readTree(original),
                JSON3.readTree(SERIALIZATION.asJson(pod)));
        ObjectNode response = allowed(result.warnings());
        response.put("patchType", "JSONPatch");
        response.put("patch", Base64.getEncoder().encodeToString(
                JSON3.writeValueAsString(patch).getBytes(StandardCharsets.UTF_8)));
        logger.info("pod {}/{}: injected ({})", namespace, podName, decision.reason());
        return response;
    }

    private ObjectNode validate(JsonNode request) {
        JsonNode object = request.path("object");
        if (!object.isObject()) {
            return allowed(List.of()); // DELETE: nothing to validate
        }
        String kind = object.path("kind").asText();
        String namespace = request.path("namespace").asText(object.path("metadata").path("namespace").asText(""));
        ConfigParser.Result result;
        try {
            result = ConfigParser.parse(null, JSON.writeValueAsString(object),
                    namespace.isEmpty() ? "default" : namespace);
        } catch (IOException e) {
            return denied(400, "object: " + e.getMessage());
        }
        if (!result.errors().isEmpty()) {
            ConfigError err = result.errors().get(0);
            return denied(400, "configuration is invalid: " + err.reason());
        }
        if (result.configs().isEmpty()) {
            return allowed(List.of(kind + " " + object.path("apiVersion").asText() + " is not read by jmesh discovery "
                    + "(accepted without validation; kinds validated: " + java.util.Arrays.stream(ConfigKind.values())
                    .map(ConfigKind::kindName).toList() + ")"));
        }
        return allowed(List.of());
    }

    private static SidecarInjector.Workload workload(Pod pod, String namespace) {
        io.fabric8.kubernetes.api.model.ObjectMeta m = pod.getMetadata();
        OwnerReference controller = null;
        if (m.getOwnerReferences() != null) {
            for (OwnerReference r : m.getOwnerReferences()) {
                if (Boolean.TRUE.equals(r.getController())) {
                    controller = r;
                }
            }
        }
        if (controller == null) {
            String name = m.getName() != null ? m.getName()
                    : m.getGenerateName() == null ? "" : m.getGenerateName().replaceAll("-$", "");
            return SidecarInjector.Workload.of("v1", "Pod", namespace, name);
        }
        String hash = m.getLabels() == null ? null : m.getLabels().get("pod-template-hash");
        if (controller.getKind().equals("ReplicaSet") && hash != null && controller.getName().endsWith("-" + hash)) {
            // As istiod: a ReplicaSet made by a Deployment stands for the Deployment.
            String name = controller.getName();
            return SidecarInjector.Workload.of("apps/v1", "Deployment", namespace,
                    name.substring(0, name.length() - hash.length() - 1));
        }
        return SidecarInjector.Workload.of(controller.getApiVersion(), controller.getKind(), namespace,
                controller.getName());
    }

    private static ObjectNode allowed(List<String> warnings) {
        ObjectNode r = JSON.createObjectNode();
        r.put("allowed", true);
        if (!warnings.isEmpty()) {
            var arr = r.putArray("warnings");
            new ArrayList<>(new java.util.LinkedHashSet<>(warnings)).forEach(arr::add);
        }
        return r;
    }

    private static ObjectNode denied(int code, String message) {
        ObjectNode r = JSON.createObjectNode();
        r.put("allowed", false);
        ObjectNode status = r.putObject("status");
        status.put("code", code);
        status.put("message", message);
        return r;
    }

    private static void reply(HttpExchange x, int status, String message) throws IOException {
        byte[] bytes = (message + "\n").getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        x.sendResponseHeaders(status, bytes.length);
        try (OutputStream os = x.getResponseBody()) {
            os.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}

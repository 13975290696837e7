package io.jmesh.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh discovery --config-dir DIR}: the control plane. Reads and watches Istio YAML in {@code DIR} and
 * serves xDS over ADS on {@code --grpc-addr}, debug pages and metrics on {@code --monitoring-addr}. Exit code 1
 * with the reason when the directory, an address or the mesh config is unusable; SIGTERM stops it and exits 0.
 */
@Command(name = "discovery", mixinStandardHelpOptions = true,
        description = "Run the control plane: Istio YAML from a directory in, Envoy xDS over ADS out.")
final class DiscoveryCommand implements Callable<Integer> {

    @Option(names = "--config-dir", paramLabel = "DIR",
            description = "Directory of Istio YAML files (read recursively and watched). Required unless "
                    + "--kubeconfig or --kubernetes is given.")
    Path configDir;

    @Option(names = "--kubeconfig", paramLabel = "FILE",
            description = "Watch this Kubernetes cluster (the file's current context): Services, EndpointSlices, "
                    + "Pods, Namespaces, Nodes and Istio's CRDs.")
    Path kubeconfig;

    @Option(names = "--kubernetes",
            description = "Watch the Kubernetes cluster found as kubectl finds it: the pod's service account "
                    + "in a cluster, else $KUBECONFIG or ~/.kube/config.")
    boolean kubernetes;

    @Option(names = "--ca-secret", paramLabel = "NAMESPACE/NAME",
            description = "Keep the CA's key and certificates in this Kubernetes Secret (keys ca-cert.pem, ca-key.pem, "
                    + "root-cert.pem, cert-chain.pem), so that every replica signs with the same root; created with a "
                    + "self-signed root when missing. Needs --kubeconfig or --kubernetes; not with --ca-dir.")
    String caSecret;

    @Option(names = "--domain", defaultValue = "cluster.local", paramLabel = "DOMAIN",
            description = "The Kubernetes cluster's DNS domain: services are NAME.NAMESPACE.svc.DOMAIN "
                    + "(default: ${DEFAULT-VALUE}).")
    String domain;

    @Option(names = "--grpc-addr", defaultValue = "127.0.0.1:15010", paramLabel = "HOST:PORT",
            description = "ADS (plaintext gRPC) address (default: ${DEFAULT-VALUE}; port 0 = any free port).")
    String grpcAddress;

    @Option(names = "--secure-grpc-addr", defaultValue = "127.0.0.1:15012", paramLabel = "HOST:PORT",
            description = "xDS and the CA over TLS, with a serving certificate from the CA (default: ${DEFAULT-VALUE}; "
                    + "'off' for none).")
    String secureGrpcAddress;

    @Option(names = "--ca-dir", paramLabel = "DIR",
            description = "The CA's directory, as Istio's cacerts: ca-cert.pem, ca-key.pem, root-cert.pem, "
                    + "cert-chain.pem. Plugged-in certificates are used as they are; an empty directory gets a "
                    + "self-signed root on first start. Without it the root lives in memory only.")
    Path caDir;

    @Option(names = "--ca-tokens", paramLabel = "FILE",
            description = "Bearer tokens of workloads: YAML 'tokens: [{token, namespace, serviceAccount}]', "
                    + "re-read when it changes. Without it only client certificates from the CA authenticate.")
    Path caTokens;

    @Option(names = "--ca-on-plaintext",
            description = "Also serve the CA on --grpc-addr (plaintext: tokens travel in clear text).")
    boolean caOnPlaintext;

    @Option(names = "--max-workload-cert-ttl", paramLabel = "DURATION", defaultValue = "2160h",
            description = "Largest TTL a workload may ask for, as Istio's MAX_WORKLOAD_CERT_TTL (default: "
                    + "${DEFAULT-VALUE}); e.g. 90m, 24h.")
    String maxWorkloadCertTtl;

    @Option(names = "--workload-cert-ttl", paramLabel = "DURATION", defaultValue = "24h",
            description = "TTL when a workload asks for none, as Istio's DEFAULT_WORKLOAD_CERT_TTL (default: "
                    + "${DEFAULT-VALUE}).")
    String workloadCertTtl;

    @Option(names = "--monitoring-addr", defaultValue = "127.0.0.1:15014", paramLabel = "HOST:PORT",
            description = "/metrics and /debug/* address (default: ${DEFAULT-VALUE}).")
    String monitoringAddress;

    @Option(names = "--mesh-config", paramLabel = "FILE", description = "MeshConfig YAML file.")
    Path meshConfig;

    @Option(names = "--credentials-dir", paramLabel = "DIR",
            description = "TLS credentials for credentialName in Gateways and DestinationRules: "
                    + "DIR/<namespace>/<name>/{tls.crt,tls.key,ca.crt}, served to proxies of that namespace over SDS.")
    Path credentialsDir;

    @Option(names = "--registry", paramLabel = "URI",
            description = "Also discover services from a registry: zookeeper://HOST:PORT (Dubbo and SOFARPC providers), "
                    + "nacos://HOST:PORT or consul://HOST:PORT. Repeatable.")
    java.util.List<String> registries = new java.util.ArrayList<>();

    @Option(names = "--webhook-port", paramLabel = "PORT",
            description = "Serve the sidecar injection (/inject) and validation (/validate) admission webhooks over "
                    + "HTTPS on this port, on the host of --grpc-addr (default with --kubeconfig or --kubernetes: "
                    + "15017 when the CA is on or --webhook-cert is given; 0 = any free port; -1 = off).")
    Integer webhookPort;

    @Option(names = "--webhook-cert", paramLabel = "FILE",
            description = "The webhooks' certificate chain (PEM); without it the CA issues one for "
                    + "istiod.istio-system.svc.")
    java.nio.file.Path webhookCert;

    @Option(names = "--webhook-key", paramLabel = "FILE", description = "The private key of --webhook-cert (PEM).")
    java.nio.file.Path webhookKey;

    @Option(names = "--injection-values", paramLabel = "FILE",
            description = "Injection values, as the 'values' of Istio's istio-sidecar-injector ConfigMap "
                    + "(global.hub, global.tag, global.proxy.*); see jmesh kube-inject --valuesFile.")
    java.nio.file.Path injectionValues;

    @Option(names = "--injection-config", paramLabel = "FILE",
            description = "Injection config, as the 'config' of Istio's istio-sidecar-injector ConfigMap (policy, "
                    + "alwaysInjectSelector, neverInjectSelector, injectedAnnotations).")
    java.nio.file.Path injectionConfig;

    @Option(names = "--duration", defaultValue = "0", paramLabel = "SECONDS", hidden = true,
            description = "Stop by itself after this many seconds (tests).")
    long durationSeconds;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress grpc;
        InetSocketAddress monitoring;
        io.jmesh.discovery.CaOptions ca = null;
        try {
            grpc = parse("--grpc-addr", grpcAddress);
            monitoring = parse("--monitoring-addr", monitoringAddress);
            if (!secureGrpcAddress.equals("off")) {
                java.time.Duration ttl = duration("--workload-cert-ttl", workloadCertTtl);
                java.time.Duration max = duration("--max-workload-cert-ttl", maxWorkloadCertTtl);
                if (ttl.isZero() || ttl.isNegative()) {
                    throw new IllegalArgumentException("--workload-cert-ttl: " + workloadCertTtl + " (expected: > 0)");
                }
                if (max.compareTo(ttl) < 0) {
                    throw new IllegalArgumentException("--max-workload-cert-ttl: " + maxWorkloadCertTtl
                            + " (expected: >= --workload-cert-ttl " + workloadCertTtl + ")");
                }
                ca = new io.jmesh.discovery.CaOptions(parse("--secure-grpc-addr", secureGrpcAddress), caDir, caTokens,
                        caOnPlaintext, ttl, max);
            } else if (caOnPlaintext || caDir != null || caTokens != null) {
                throw new IllegalArgumentException("--secure-grpc-addr: off (expected: an address when --ca-dir, "
                        + "--ca-tokens or --ca-on-plaintext is given)");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        boolean kube = kubernetes || kubeconfig != null;
        if (caSecret != null && (!kube || caDir != null || ca == null || caSecret.split("/", -1).length != 2)) {
            System.err.println("error: --ca-secret: " + caSecret + " (expected: NAMESPACE/NAME, with --kubeconfig or "
                    + "--kubernetes, without --ca-dir, and the CA on)");
            return 2;
        }
        if (configDir == null && !kube) {
            System.err.println("error: --config-dir: missing (expected: a directory, or --kubeconfig FILE or "
                    + "--kubernetes)");
            return 2;
        }
        int webhook = webhookPort != null ? webhookPort : kube ? 15017 : -1;
        if (webhookPort == null && webhook >= 0 && webhookCert == null && ca == null) {
            System.err.println("warning: --webhook-port: the admission webhooks are off (no certificate for them: the "
                    + "CA is off and no --webhook-cert is given)");
            webhook = -1;
        }
        if (webhook < -1 || webhook > 65535 || (webhookCert == null) != (webhookKey == null)
                || (webhook >= 0 && webhookCert == null && ca == null)) {
            System.err.println("error: --webhook-port: " + webhook + " (expected: -1 to 65535, with --webhook-cert and "
                    + "--webhook-key together, or the CA on (--secure-grpc-addr) to issue the webhooks' certificate)");
            return 2;
        }
        io.jmesh.discovery.inject.SidecarInjector injector = null;
        javax.net.ssl.SSLContext webhookTls = null;
        if (webhook >= 0) {
            try {
                injector = new io.jmesh.discovery.inject.SidecarInjector(io.jmesh.discovery.inject.InjectionSettings
                        .load(injectionValues, meshConfig, injectionConfig));
                injector.settings().warnings().forEach(w -> System.err.println("warning: " + w));
                if (webhookCert != null) {
                    webhookTls = io.jmesh.discovery.inject.AdmissionWebhook.tlsFromFiles(webhookCert, webhookKey);
                }
            } catch (io.jmesh.proxy.config.ConfigException e) {
                System.err.println("error: " + e.getMessage());
                return 2;
            }
        }
        java.util.List<io.jmesh.discovery.registry.ServiceRegistry> extra = new java.util.ArrayList<>();
        java.util.List<io.jmesh.discovery.config.ConfigStore> stores = new java.util.ArrayList<>();
        io.fabric8.kubernetes.client.KubernetesClient kubeClient = null;
        DiscoveryServer server;
        try {
            if (kube) {
                kubeClient = io.jmesh.discovery.registry.kubernetes.KubernetesClients.create(kubeconfig);
                extra.add(new io.jmesh.discovery.registry.kubernetes.KubernetesServiceRegistry(kubeClient, domain));
                stores.add(new io.jmesh.discovery.config.kubernetes.KubernetesConfigStore(kubeClient));
                if (configDir == null) {
                    configDir = java.nio.file.Files.createTempDirectory("jmesh-discovery-config");
                    configDir.toFile().deleteOnExit();
                }
                if (caSecret != null) {
                    ca = withSecretCa(ca, kubeClient);
                }
            }
            for (String uri : registries) {
                extra.add(io.jmesh.discovery.registry.Registries.fromUri(uri));
            }
            // istiod's KubeJWTAuthenticator: with Kubernetes, the CA accepts service-account tokens (TokenReview).
            java.util.List<java.util.function.Function<String, io.jmesh.security.ca.server.Authenticator>> caAuth =
                    new java.util.ArrayList<>();
            if (kubeClient != null) {
                io.fabric8.kubernetes.client.KubernetesClient kc = kubeClient;
                caAuth.add(td -> new io.jmesh.discovery.registry.kubernetes.KubernetesTokenAuthenticator(kc, td));
            }
            server = DiscoveryServer.start(new DiscoveryOptions(configDir, grpc, monitoring, meshConfig,
                    DiscoveryOptions.DEFAULT_DEBOUNCE, ca, credentialsDir), extra, stores, caAuth);
        } catch (Exception e) {
            for (AutoCloseable r : extra) {
                closeQuietly(r);
            }
            stores.forEach(DiscoveryCommand::closeQuietly);
            closeQuietly(kubeClient);
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        io.jmesh.discovery.inject.AdmissionWebhook webhooks = null;
        if (webhook >= 0) {
            try {
                if (webhookTls == null) {
                    java.util.List<String> ips = new java.util.ArrayList<>(java.util.List.of("127.0.0.1"));
                    if (!grpc.getAddress().isAnyLocalAddress() && !grpc.getAddress().isLoopbackAddress()) {
                        ips.add(grpc.getAddress().getHostAddress());
                    }
                    webhookTls = io.jmesh.discovery.inject.AdmissionWebhook.tlsFromCa(server.certificateAuthority(),
                            DiscoveryServer.SERVING_DNS_NAMES, ips);
                }
                final io.fabric8.kubernetes.client.KubernetesClient namespaces = kubeClient;
                webhooks = io.jmesh.discovery.inject.AdmissionWebhook.start(
                        new InetSocketAddress(grpc.getAddress(), webhook), webhookTls, injector,
                        namespaces == null ? null : ns -> {
                            io.fabric8.kubernetes.api.model.Namespace n = namespaces.namespaces().withName(ns).get();
                            return n == null || n.getMetadata().getLabels() == null ? java.util.Map.of()
                                    : n.getMetadata().getLabels();
                        });
            } catch (Exception e) {
                server.close();
                closeQuietly(kubeClient);
                System.err.println("error: --webhook-port: " + webhook + " (" + e.getMessage() + ")");
                return 1;
            }
        }
        io.jmesh.discovery.registry.kubernetes.RootCertPublisher rootCerts = null;
        if (kubeClient != null && server.certificateAuthority() != null) {
            // istiod's namespace controller: istio-ca-root-cert in every namespace, for the injected sidecars.
            io.jmesh.security.ca.CertificateAuthority authority = server.certificateAuthority();
            rootCerts = io.jmesh.discovery.registry.kubernetes.RootCertPublisher.start(kubeClient,
                    () -> authority.roots().trustBundlePem());
            if (webhooks != null && webhookCert == null) {
                // The webhooks' certificate is the CA's: the API server must trust the mesh roots for them.
                io.jmesh.discovery.registry.kubernetes.WebhookCaBundle.patch(kubeClient,
                        authority.roots().trustBundlePem());
            }
        }
        try (server) {
            if (webhooks != null) {
                System.err.println("jmesh discovery: webhooks /inject and /validate on https://"
                        + hostPort(webhooks.address()));
            }
            System.err.println("jmesh discovery: xDS on " + hostPort(server.grpcAddress())
                    + (server.secureGrpcAddress() == null ? ""
                            : ", xDS and CA over TLS on " + hostPort(server.secureGrpcAddress()))
                    + ", monitoring on " + hostPort(server.monitoringAddress()) + ", config from " + configDir);
            if (server.certificateAuthority() != null) {
                System.err.println("jmesh discovery: CA root " + server.certificateAuthority().roots().root()
                        .getSubjectX500Principal() + (caSecret != null ? " from Secret " + caSecret
                                : caDir == null ? " (in memory)" : " in " + caDir));
            }
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerm(stop::countDown);
            if (durationSeconds > 0) {
                stop.await(durationSeconds, java.util.concurrent.TimeUnit.SECONDS);
            } else {
                stop.await();
            }
        } finally {
            closeQuietly(webhooks);
            closeQuietly(rootCerts);
            closeQuietly(kubeClient);
        }
        return 0;
    }

    /** The CA options with a private directory filled from the {@code --ca-secret} Secret. */
    private io.jmesh.discovery.CaOptions withSecretCa(io.jmesh.discovery.CaOptions ca,
                                                      io.fabric8.kubernetes.client.KubernetesClient client)
            throws Exception {
        String[] ref = caSecret.split("/", -1);
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("jmesh-ca",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        String trustDomain = io.jmesh.discovery.config.DirectoryConfigWatcher.loadMeshConfig(meshConfig).trustDomain();
        io.jmesh.discovery.registry.kubernetes.KubernetesCaSecret.materialize(client, ref[0], ref[1], trustDomain,
                dir.resolve("ca"));
        return new io.jmesh.discovery.CaOptions(ca.secureGrpcAddress(), dir.resolve("ca"), ca.tokensFile(),
                ca.caOnPlaintext(), ca.defaultCertTtl(), ca.maxCertTtl());
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort on the way out
        }
    }

    static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** Parses {@code 90m}, {@code 24h}, {@code 2160h}, {@code 30s} or an ISO-8601 duration ({@code PT24H}). */
    static java.time.Duration duration(String option, String value) {
        try {
            if (value.matches("\\d+[smhd]")) {
                long n = Long.parseLong(value.substring(0, value.length() - 1));
                return switch (value.charAt(value.length() - 1)) {
                    case 's' -> java.time.Duration.ofSeconds(n);
                    case 'm' -> java.time.Duration.ofMinutes(n);
                    case 'h' -> java.time.Duration.ofHours(n);
                    default -> java.time.Duration.ofDays(n);
                };
            }
            return java.time.Duration.parse(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(option + ": " + value + " (expected: a duration such as 30s, 90m, 24h)");
        }
    }

    static InetSocketAddress parse(String option, String value) {
        int colon = value.lastIndexOf(':');
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (colon > 0 && port >= 0 && port <= 65535) {
                return new InetSocketAddress(value.substring(0, colon).replace("[", "").replace("]", ""), port);
            }
        } catch (NumberFormatException | StringIndexOutOfBoundsException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + ": " + value + " (expected: HOST:PORT)");
    }
}

package io.jmesh.discovery.inject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.jmesh.discovery.config.ConfigValidator;
import io.jmesh.proxy.config.ConfigException;

/**
 * Adds jmesh's sidecar to a pod, in the shape of Istio's {@code sidecar} injection template: the {@code istio-init}
 * init container running {@code jmesh iptables} with the pod's capture flags, the {@code istio-proxy} container
 * running {@code jmesh proxy} (node identity from the downward API, UID 1337, readiness on 15021
 * {@code /healthz/ready}, Prometheus on 15090, admin on 127.0.0.1:15000), Istio's volumes, labels and annotations
 * ({@code sidecar.istio.io/status}), and app probes rewritten to the sidecar's status port
 * ({@code /app-health/<container>/livez|readyz|startupz}, the originals in {@code ISTIO_KUBE_APP_PROBERS}).
 *
 * <p>Stateless and thread-safe; {@link #inject} mutates the objects it is given and checks every annotation it reads
 * before changing anything, so a refused pod is left as it was.
 */
public final class SidecarInjector {

    /** The sidecar container. */
    public static final String PROXY_CONTAINER = "istio-proxy";
    /** The init container that writes the iptables rules. */
    public static final String INIT_CONTAINER = "istio-init";
    /** The proxy's user and group, excluded from capture. */
    public static final long PROXY_UID = 1337;
    /** Outbound capture port. */
    public static final int OUTBOUND_PORT = 15001;
    /** Inbound capture port. */
    public static final int INBOUND_PORT = 15006;
    /** Readiness port ({@code /healthz/ready}). */
    public static final int HEALTH_PORT = 15021;
    /** Prometheus port. */
    public static final int PROMETHEUS_PORT = 15090;
    /** Admin port (127.0.0.1 only). */
    public static final int ADMIN_PORT = 15000;

    /** The volumes added, in Istio's order. */
    public static final List<String> VOLUMES = List.of("workload-socket", "istio-envoy", "istio-data",
            "istio-podinfo", "istio-token", "istiod-ca-cert");

    static final String PROXY_CONFIG = "proxy.istio.io/config";
    static final String PROXY_CPU = "sidecar.istio.io/proxyCPU";
    static final String PROXY_MEMORY = "sidecar.istio.io/proxyMemory";
    static final String PROXY_CPU_LIMIT = "sidecar.istio.io/proxyCPULimit";
    static final String PROXY_MEMORY_LIMIT = "sidecar.istio.io/proxyMemoryLimit";
    static final String INTERCEPTION_MODE = "sidecar.istio.io/interceptionMode";
    static final String REWRITE_PROBES = "sidecar.istio.io/rewriteAppHTTPProbers";
    static final String STATUS_PORT = "status.sidecar.istio.io/port";
    static final String INCLUDE_OUTBOUND_IP_RANGES = "traffic.sidecar.istio.io/includeOutboundIPRanges";
    static final String EXCLUDE_OUTBOUND_IP_RANGES = "traffic.sidecar.istio.io/excludeOutboundIPRanges";
    static final String INCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/includeInboundPorts";
    static final String EXCLUDE_INBOUND_PORTS = "traffic.sidecar.istio.io/excludeInboundPorts";
    static final String INCLUDE_OUTBOUND_PORTS = "traffic.sidecar.istio.io/includeOutboundPorts";
    static final String EXCLUDE_OUTBOUND_PORTS = "traffic.sidecar.istio.io/excludeOutboundPorts";
    static final String KUBEVIRT_INTERFACES = "traffic.sidecar.istio.io/kubevirtInterfaces";

    /** ProxyConfig fields the injector applies; others are reported. */
    private static final java.util.Set<String> PROXY_CONFIG_FIELDS = java.util.Set.of("concurrency",
            "terminationDrainDuration", "holdApplicationUntilProxyStarts", "proxyMetadata", "interceptionMode",
            "discoveryAddress", "statusPort");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern QUANTITY = Pattern.compile("^[+]?[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$");
    private static final Pattern CIDR = Pattern.compile(
            "^((25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1?\\d?\\d)(/(3[0-2]|[12]?\\d))?$");

    /**
     * The workload a pod belongs to, for Istio's {@code ISTIO_META_WORKLOAD_NAME} and {@code ISTIO_META_OWNER}.
     *
     * @param name  the workload's name (a Deployment's, or the pod's own)
     * @param owner {@code kubernetes://apis/apps/v1/namespaces/NS/deployments/NAME}, or {@code null}
     */
    public record Workload(String name, String owner) {

        /**
         * The workload {@code name} of {@code kind} in {@code apiVersion}, its owner as Istio's template writes
         * {@code ISTIO_META_OWNER}: {@code kubernetes://apis/APIVERSION/namespaces/NS/KINDs/NAME} (namespace
         * {@code default} when null or empty; {@code apis/v1} for core kinds too).
         */
        public static Workload of(String apiVersion, String kind, String namespace, String name) {
            String ns = namespace == null || namespace.isEmpty() ? "default" : namespace;
            return new Workload(name, "kubernetes://apis/" + apiVersion + "/namespaces/" + ns + "/"
                    + kind.toLowerCase(java.util.Locale.ROOT) + "s/" + name);
        }
    }

    /** What an injection did besides changing the pod: settings it could not apply, by name. */
    public record Result(List<String> warnings) {}

    private final InjectionSettings settings;

    public SidecarInjector(InjectionSettings settings) {
        this.settings = settings;
    }

    /** The settings this injector applies. */
    public InjectionSettings settings() {
        return settings;
    }

    /**
     * Injects the sidecar into {@code spec}, adding labels and annotations to {@code meta} (the pod's or the pod
     * template's metadata).
     *
     * @param namespace the pod's namespace, or {@code null} when unknown (kube-inject of a file without one)
     * @throws ConfigException naming the annotation ({@code metadata.annotations[NAME]: value (expected: ...)}) when
     *                         one cannot be applied; nothing has been changed then
     */
    public Result inject(ObjectMeta meta, PodSpec spec, String namespace, Workload workload) throws ConfigException {
        Map<String, String> ann = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
        Map<String, String> labels = meta.getLabels() == null ? Map.of() : meta.getLabels();
        List<String> warnings = new ArrayList<>(settings.warnings());
        InjectionSettings.ProxyValues pv = settings.proxy();

        // Read and check everything first.
        Map<String, Object> proxyConfig = new LinkedHashMap<>(settings.proxyConfig());
        if (ann.containsKey(PROXY_CONFIG)) {
            proxyConfig.putAll(parseProxyConfig(ann.get(PROXY_CONFIG)));
        }
        for (String k : proxyConfig.keySet()) {
            if (!PROXY_CONFIG_FIELDS.contains(k)) {
                warnings.add("ProxyConfig " + k + " is not supported by jmesh's sidecar (ignored)");
            }
        }
        String mode = ann.getOrDefault(INTERCEPTION_MODE, String.valueOf(proxyConfig.getOrDefault("interceptionMode",
                "REDIRECT")));
        if (!mode.equals("REDIRECT") && !mode.equals("TPROXY") && !mode.equals("NONE")) {
            throw bad(INTERCEPTION_MODE, mode, "REDIRECT, TPROXY or NONE");
        }
        int statusPort = port(ann, STATUS_PORT, proxyConfig.get("statusPort") == null ? pv.statusPort()
                : ((Number) proxyConfig.get("statusPort")).intValue());
        String includeRanges = ipRanges(ann, INCLUDE_OUTBOUND_IP_RANGES, pv.includeIpRanges(), true);
        String excludeRanges = ipRanges(ann, EXCLUDE_OUTBOUND_IP_RANGES, pv.excludeIpRanges(), false);
        String includeInbound = ports(ann, INCLUDE_INBOUND_PORTS, pv.includeInboundPorts(), true);
        String excludeInbound = ports(ann, EXCLUDE_INBOUND_PORTS, pv.excludeInboundPorts(), false);
        String includeOutboundPorts = ports(ann, INCLUDE_OUTBOUND_PORTS, pv.includeOutboundPorts(), false);
        String excludeOutboundPorts = ports(ann, EXCLUDE_OUTBOUND_PORTS, pv.excludeOutboundPorts(), false);
        ResourceRequirements resources = proxyResources(ann, pv);
        boolean hold = proxyConfig.get("holdApplicationUntilProxyStarts") instanceof Boolean b ? b
                : pv.holdApplicationUntilProxyStarts();
        Object drain = proxyConfig.get("terminationDrainDuration");
        double drainSeconds = drain == null ? 5 : ConfigValidator.parseDuration(String.valueOf(drain),
                "ProxyConfig terminationDrainDuration", Duration.ZERO).toNanos() / 1e9;
        int concurrency = proxyConfig.get("concurrency") instanceof Number n ? n.intValue() : 2;
        if (concurrency == 0) {
            // As Istio: a proxy told to use every core uses as many as its CPU limit (else request) allows.
            Quantity cpu = resources.getLimits() != null && resources.getLimits().containsKey("cpu")
                    ? resources.getLimits().get("cpu")
                    : resources.getRequests() != null ? resources.getRequests().get("cpu") : null;
            if (cpu != null) {
                concurrency = (int) Math.ceil(Quantity.getAmountInBytes(cpu).doubleValue());
            }
        }
        String caAddress = settings.discoveryAddress();
        String discovery = proxyConfig.get("discoveryAddress") instanceof String s && !s.isEmpty() ? s : caAddress;
        boolean rewrite = ann.containsKey(REWRITE_PROBES) ? Boolean.parseBoolean(ann.get(REWRITE_PROBES))
                : settings.rewriteAppHttpProbe();
        List<Container> apps = spec.getContainers() == null ? List.of() : spec.getContainers();
        for (Container c : apps) {
            if (c.getName().equals(PROXY_CONTAINER)) {
                throw new ConfigException("spec.containers[" + PROXY_CONTAINER + "]: present (expected: a pod without "
                        + "a container named " + PROXY_CONTAINER + "; the sidecar is added by injection)");
            }
        }

        // Probes go through the sidecar's status port, which iptables leaves alone (mTLS would break kubelet's).
        Map<String, Object> probers = new TreeMap<>();
        if (rewrite) {
            for (Container c : apps) {
                rewriteProbe(c, c.getReadinessProbe(), "readyz", statusPort, probers, warnings);
                rewriteProbe(c, c.getLivenessProbe(), "livez", statusPort, probers, warnings);
                rewriteProbe(c, c.getStartupProbe(), "startupz", statusPort, probers, warnings);
            }
        }

        String wl = workload == null || workload.name() == null ? "" : workload.name();
        String trustDomain = settings.trustDomain();
        List<EnvVar> env = new ArrayList<>();
        env.add(field("POD_NAME", "metadata.name"));
        env.add(field("POD_NAMESPACE", "metadata.namespace"));
        env.add(field("INSTANCE_IP", "status.podIP"));
        env.add(field("SERVICE_ACCOUNT", "spec.serviceAccountName"));
        env.add(field("HOST_IP", "status.hostIP"));
        env.add(new EnvVarBuilder().withName("CA_ADDR").withValue(caAddress).build());
        env.add(new EnvVarBuilder().withName("PROXY_CONFIG").withValue(json(proxyConfig) + "\n").build());
        env.add(new EnvVarBuilder().withName("ISTIO_META_POD_PORTS").withValue(podPorts(apps)).build());
        env.add(new EnvVarBuilder().withName("ISTIO_META_APP_CONTAINERS")
                .withValue(String.join(",", apps.stream().map(Container::getName).toList())).build());
        env.add(new EnvVarBuilder().withName("ISTIO_META_CLUSTER_ID").withValue(settings.clusterId()).build());
        env.add(new EnvVarBuilder().withName("ISTIO_META_INTERCEPTION_MODE").withValue(mode).build());
        if (!settings.network().isEmpty()) {
            env.add(new EnvVarBuilder().withName("ISTIO_META_NETWORK").withValue(settings.network()).build());
        }
        env.add(new EnvVarBuilder().withName("ISTIO_META_WORKLOAD_NAME").withValue(wl).build());
        if (workload != null && workload.owner() != null) {
            env.add(new EnvVarBuilder().withName("ISTIO_META_OWNER").withValue(workload.owner()).build());
        }
        env.add(new EnvVarBuilder().withName("ISTIO_META_MESH_ID").withValue(settings.meshId()).build());
        env.add(new EnvVarBuilder().withName("TRUST_DOMAIN").withValue(trustDomain).build());
        if (proxyConfig.get("proxyMetadata") instanceof Map<?, ?> md) {
            md.forEach((k, v) -> env.add(new EnvVarBuilder().withName(String.valueOf(k))
                    .withValue(v == null ? "" : String.valueOf(v)).build()));
        }
        if (!probers.isEmpty()) {
            env.add(new EnvVarBuilder().withName("ISTIO_KUBE_APP_PROBERS").withValue(json(probers)).build());
        }

        List<String> args = new ArrayList<>(List.of("proxy",
                "--discovery-address", discovery,
                "--xds-root-ca", "/var/run/secrets/istio/root-cert.pem",
                "--node-id", "sidecar~$(INSTANCE_IP)~$(POD_NAME).$(POD_NAMESPACE)~$(POD_NAMESPACE).svc.cluster.local",
                "--node-metadata", "INTERCEPTION_MODE=" + mode,
                "--node-metadata", "CLUSTER_ID=" + settings.clusterId(),
                "--node-metadata", "MESH_ID=" + settings.meshId()));
        if (!wl.isEmpty()) {
            args.addAll(List.of("--node-metadata", "WORKLOAD_NAME=" + wl));
        }
        if (!settings.network().isEmpty()) {
            args.addAll(List.of("--node-metadata", "NETWORK=" + settings.network()));
        }
        new TreeMap<>(labels).forEach((k, v) -> args.addAll(List.of("--node-label", k + "=" + v)));
        args.addAll(List.of(
                "--ca-address", caAddress,
                "--token-file", "/var/run/secrets/tokens/istio-token",
                "--trust-domain", trustDomain,
                "--service-account", "$(SERVICE_ACCOUNT)",
                "--sds-socket", "/var/run/secrets/workload-spiffe-uds/socket",
                "--admin-port", String.valueOf(ADMIN_PORT),
                "--prometheus-port", String.valueOf(PROMETHEUS_PORT),
                "--status-port", String.valueOf(statusPort),
                "--concurrency", String.valueOf(concurrency),
                "--drain-time", trim(drainSeconds)));

        ContainerBuilder proxy = new ContainerBuilder()
                .withName(PROXY_CONTAINER)
                .withImage(settings.image())
                .withImagePullPolicy(settings.imagePullPolicy())
                .withArgs(args)
                .withEnv(env)
                .addNewPort().withContainerPort(PROMETHEUS_PORT).withName("http-envoy-prom").withProtocol("TCP")
                .endPort()
                .withNewReadinessProbe()
                    .withNewHttpGet().withPath("/healthz/ready").withPort(new IntOrString(HEALTH_PORT)).endHttpGet()
                    .withInitialDelaySeconds(0).withPeriodSeconds(15).withTimeoutSeconds(3).withFailureThreshold(4)
                .endReadinessProbe()
                .withNewStartupProbe()
                    .withNewHttpGet().withPath("/healthz/ready").withPort(new IntOrString(HEALTH_PORT)).endHttpGet()
                    .withInitialDelaySeconds(0).withPeriodSeconds(1).withTimeoutSeconds(3).withFailureThreshold(600)
                .endStartupProbe()
                .withResources(resources)
                .withNewSecurityContext()
                    .withAllowPrivilegeEscalation(false).withPrivileged(false).withReadOnlyRootFilesystem(true)
                    .withRunAsUser(PROXY_UID).withRunAsGroup(PROXY_UID).withRunAsNonRoot(true)
                    .withNewCapabilities().withDrop("ALL").endCapabilities()
                .endSecurityContext()
                .withVolumeMounts(
                        mount("/var/run/secrets/workload-spiffe-uds", "workload-socket"),
                        mount("/var/run/secrets/istio", "istiod-ca-cert"),
                        mount("/var/lib/istio/data", "istio-data"),
                        mount("/etc/istio/proxy", "istio-envoy"),
                        mount("/var/run/secrets/tokens", "istio-token"),
                        mount("/etc/istio/pod", "istio-podinfo"));
        if (hold) {
            // As Istio's pilot-agent wait: the kubelet starts the next container only when this hook returns.
            proxy.withNewLifecycle().withNewPostStart().withNewExec()
                    .withCommand("jmesh", "wait", "--url", "http://127.0.0.1:" + HEALTH_PORT + "/healthz/ready")
                    .endExec().endPostStart().endLifecycle();
        }

        // Now change the pod.
        List<Container> containers = new ArrayList<>(apps);
        if (hold) {
            containers.add(0, proxy.build());
        } else {
            containers.add(proxy.build());
        }
        spec.setContainers(containers);
        List<String> initNames = new ArrayList<>();
        if (!mode.equals("NONE")) {
            List<Container> inits = spec.getInitContainers() == null ? new ArrayList<>()
                    : new ArrayList<>(spec.getInitContainers());
            inits.add(initContainer(mode, includeRanges, excludeRanges, includeInbound,
                    excludedInbound(statusPort, excludeInbound), includeOutboundPorts, excludeOutboundPorts,
                    ann.get(KUBEVIRT_INTERFACES)));
            spec.setInitContainers(inits);
            initNames.add(INIT_CONTAINER);
        }
        List<Volume> volumes = spec.getVolumes() == null ? new ArrayList<>() : new ArrayList<>(spec.getVolumes());
        volumes.addAll(volumes());
        spec.setVolumes(volumes);
        if (spec.getSecurityContext() == null) {
            spec.setSecurityContext(new PodSecurityContext());
        }
        if (spec.getSecurityContext().getFsGroup() == null) {
            spec.getSecurityContext().setFsGroup(PROXY_UID);
        }

        Map<String, String> newLabels = new LinkedHashMap<>(labels);
        newLabels.putIfAbsent("security.istio.io/tlsMode", "istio");
        newLabels.putIfAbsent("service.istio.io/canonical-name", canonicalName(labels, wl));
        newLabels.putIfAbsent("service.istio.io/canonical-revision", canonicalRevision(labels));
        meta.setLabels(newLabels);
        Map<String, String> newAnn = new LinkedHashMap<>(ann);
        if (!ann.containsKey("prometheus.io/scrape") || "true".equals(ann.get("prometheus.io/scrape"))) {
            // Istio's metrics merging: Prometheus scrapes the sidecar's merged endpoint.
            newAnn.putIfAbsent("prometheus.io/path", "/stats/prometheus");
            newAnn.put("prometheus.io/port", String.valueOf(statusPort));
            newAnn.put("prometheus.io/scrape", "true");
        }
        if (!apps.isEmpty()) {
            newAnn.putIfAbsent("kubectl.kubernetes.io/default-container", apps.get(0).getName());
            newAnn.putIfAbsent("kubectl.kubernetes.io/default-logs-container", apps.get(0).getName());
        }
        newAnn.putAll(settings.injectedAnnotations());
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("initContainers", initNames);
        status.put("containers", List.of(PROXY_CONTAINER));
        status.put("volumes", VOLUMES);
        status.put("imagePullSecrets", null);
        newAnn.put(InjectionPolicy.STATUS, json(status));
        meta.setAnnotations(newAnn);
        return new Result(List.copyOf(warnings));
    }

    private Container initContainer(String mode, String include, String exclude, String inbound, String excludedInbound,
                                    String includeOutboundPorts, String excludeOutboundPorts, String kubevirt) {
        List<String> args = new ArrayList<>(List.of("iptables",
                "-p", String.valueOf(OUTBOUND_PORT), "-z", String.valueOf(INBOUND_PORT),
                "-u", String.valueOf(PROXY_UID), "-m", mode, "-i", include, "-x", exclude, "-b", inbound,
                "-d", excludedInbound));
        if (!includeOutboundPorts.isEmpty()) {
            args.addAll(List.of("-q", includeOutboundPorts));
        }
        if (!excludeOutboundPorts.isEmpty()) {
            args.addAll(List.of("-o", excludeOutboundPorts));
        }
        if (kubevirt != null && !kubevirt.isEmpty()) {
            args.addAll(List.of("-k", kubevirt));
        }
        return new ContainerBuilder()
                .withName(INIT_CONTAINER)
                .withImage(settings.image())
                .withImagePullPolicy(settings.imagePullPolicy())
                .withArgs(args)
                .withNewResources()
                    .addToRequests("cpu", new Quantity("10m")).addToRequests("memory", new Quantity("10Mi"))
                    .addToLimits("cpu", new Quantity("2000m")).addToLimits("memory", new Quantity("1024Mi"))
                .endResources()
                .withNewSecurityContext()
                    .withAllowPrivilegeEscalation(false).withPrivileged(false).withReadOnlyRootFilesystem(false)
                    .withRunAsUser(0L).withRunAsGroup(0L).withRunAsNonRoot(false)
                    .withNewCapabilities().withAdd("NET_ADMIN", "NET_RAW").withDrop("ALL").endCapabilities()
                .endSecurityContext()
                .build();
    }

    private static List<Volume> volumes() {
        return List.of(
                new VolumeBuilder().withName("workload-socket").withNewEmptyDir().endEmptyDir().build(),
                new VolumeBuilder().withName("istio-envoy").withNewEmptyDir().withMedium("Memory").endEmptyDir().build(),
                new VolumeBuilder().withName("istio-data").withNewEmptyDir().endEmptyDir().build(),
                new VolumeBuilder().withName("istio-podinfo").withNewDownwardAPI()
                        .addNewItem().withPath("labels").withNewFieldRef().withFieldPath("metadata.labels")
                        .endFieldRef().endItem()
                        .addNewItem().withPath("annotations").withNewFieldRef().withFieldPath("metadata.annotations")
                        .endFieldRef().endItem()
                        .endDownwardAPI().build(),
                new VolumeBuilder().withName("istio-token").withNewProjected()
                        .addNewSource().withNewServiceAccountToken().withAudience("istio-ca")
                        .withExpirationSeconds(43200L).withPath("istio-token").endServiceAccountToken().endSource()
                        .endProjected().build(),
                new VolumeBuilder().withName("istiod-ca-cert").withNewConfigMap().withName("istio-ca-root-cert")
                        .endConfigMap().build());
    }

    /** Rewrites one probe to {@code /app-health/<container>/<kind>} on the status port, recording the original. */
    private static void rewriteProbe(Container c, Probe probe, String kind, int statusPort,
                                     Map<String, Object> probers, List<String> warnings) {
        if (probe == null || probe.getExec() != null) {
            return;
        }
        String path = "/app-health/" + c.getName() + "/" + kind;
        Map<String, Object> prober = new LinkedHashMap<>();
        if (probe.getHttpGet() != null) {
            HTTPGetAction h = probe.getHttpGet();
            Integer port = resolve(c, h.getPort());
            if (port == null) {
                warnings.add("spec.containers[" + c.getName() + "]." + kind + " probe: port " + portText(h.getPort())
                        + " is not a port of the container (probe left as it is)");
                return;
            }
            Map<String, Object> get = new LinkedHashMap<>();
            if (h.getPath() != null && !h.getPath().isEmpty()) {
                get.put("path", h.getPath());
            }
            get.put("port", port);
            if (h.getHost() != null && !h.getHost().isEmpty()) {
                get.put("host", h.getHost());
            }
            if (h.getScheme() != null && !h.getScheme().isEmpty() && !h.getScheme().equals("HTTP")) {
                get.put("scheme", h.getScheme());
            }
            if (h.getHttpHeaders() != null && !h.getHttpHeaders().isEmpty()) {
                get.put("httpHeaders", h.getHttpHeaders().stream()
                        .map(x -> Map.of("name", x.getName(), "value", x.getValue())).toList());
            }
            prober.put("httpGet", get);
            h.setPath(path);
            h.setPort(new IntOrString(statusPort));
            h.setHost(null);
            h.setScheme(null);
            h.setHttpHeaders(null);
        } else if (probe.getTcpSocket() != null) {
            Integer port = resolve(c, probe.getTcpSocket().getPort());
            if (port == null) {
                warnings.add("spec.containers[" + c.getName() + "]." + kind + " probe: port "
                        + portText(probe.getTcpSocket().getPort()) + " is not a port of the container (probe left "
                        + "as it is)");
                return;
            }
            prober.put("tcpSocket", Map.of("port", port));
            probe.setTcpSocket(null);
            probe.setHttpGet(new HTTPGetAction(null, null, path, new IntOrString(statusPort), null, null));
        } else if (probe.getGrpc() != null) {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("port", probe.getGrpc().getPort());
            if (probe.getGrpc().getService() != null) {
                g.put("service", probe.getGrpc().getService());
            }
            prober.put("grpc", g);
            probe.setGrpc(null);
            probe.setHttpGet(new HTTPGetAction(null, null, path, new IntOrString(statusPort), null, null));
        } else {
            return;
        }
        if (probe.getTimeoutSeconds() != null) {
            prober.put("timeoutSeconds", probe.getTimeoutSeconds());
        }
        probers.put(path, prober);
    }

    private static Integer resolve(Container c, IntOrString port) {
        if (port == null) {
            return null;
        }
        if (port.getIntVal() != null) {
            return port.getIntVal();
        }
        String name = port.getStrVal();
        if (name != null && name.matches("\\d+")) {
            return Integer.parseInt(name);
        }
        if (c.getPorts() != null) {
            for (ContainerPort p : c.getPorts()) {
                if (name != null && name.equals(p.getName())) {
                    return p.getContainerPort();
                }
            }
        }
        return null;
    }

    private static String portText(IntOrString p) {
        return p == null ? "(none)" : p.getIntVal() != null ? String.valueOf(p.getIntVal()) : p.getStrVal();
    }

    private static String podPorts(List<Container> apps) {
        List<Map<String, Object>> ports = new ArrayList<>();
        for (Container c : apps) {
            if (c.getPorts() == null) {
                continue;
            }
            for (ContainerPort p : c.getPorts()) {
                Map<String, Object> m = new LinkedHashMap<>();
                if (p.getName() != null) {
                    m.put("name", p.getName());
                }
                m.put("containerPort", p.getContainerPort());
                if (p.getProtocol() != null) {
                    m.put("protocol", p.getProtocol());
                }
                ports.add(m);
            }
        }
        return json(ports);
    }

    /** Istio's {@code excludeInboundPort}: the status port joins the excluded inbound ports. */
    private static String excludedInbound(int statusPort, String excluded) {
        String ports = String.valueOf(statusPort);
        if (!excluded.isEmpty()) {
            boolean has = false;
            for (String p : excluded.split(",")) {
                has |= p.trim().equals(ports);
            }
            ports = has ? excluded : excluded + "," + ports;
        }
        return PROMETHEUS_PORT + "," + HEALTH_PORT + "," + ports;
    }

    private static ResourceRequirements proxyResources(Map<String, String> ann, InjectionSettings.ProxyValues pv)
            throws ConfigException {
        Map<String, Quantity> requests = new LinkedHashMap<>();
        Map<String, Quantity> limits = new LinkedHashMap<>();
        boolean fromAnnotations = ann.containsKey(PROXY_CPU) || ann.containsKey(PROXY_MEMORY)
                || ann.containsKey(PROXY_CPU_LIMIT) || ann.containsKey(PROXY_MEMORY_LIMIT);
        if (fromAnnotations) {
            put(requests, "cpu", ann, PROXY_CPU);
            put(requests, "memory", ann, PROXY_MEMORY);
            put(limits, "cpu", ann, PROXY_CPU_LIMIT);
            put(limits, "memory", ann, PROXY_MEMORY_LIMIT);
        } else {
            pv.requests().forEach((k, v) -> requests.put(k, new Quantity(v)));
            pv.limits().forEach((k, v) -> limits.put(k, new Quantity(v)));
        }
        ResourceRequirements r = new ResourceRequirements();
        if (!requests.isEmpty()) {
            r.setRequests(new TreeMap<>(requests));
        }
        if (!limits.isEmpty()) {
            r.setLimits(new TreeMap<>(limits));
        }
        return r;
    }

    private static void put(Map<String, Quantity> out, String key, Map<String, String> ann, String name)
            throws ConfigException {
        String v = ann.get(name);
        if (v == null) {
            return;
        }
        if (!QUANTITY.matcher(v).matches()) {
            throw bad(name, v, "a Kubernetes quantity such as " + (key.equals("cpu") ? "100m or 2" : "128Mi or 1Gi"));
        }
        out.put(key, new Quantity(v));
    }

    private static String ipRanges(Map<String, String> ann, String name, String dflt, boolean starAllowed)
            throws ConfigException {
        String v = ann.getOrDefault(name, dflt);
        if (v.isEmpty() || (starAllowed && v.equals("*"))) {
            return v;
        }
        for (String cidr : v.split(",")) {
            if (!CIDR.matcher(cidr.trim()).matches()) {
                throw bad(name, v, (starAllowed ? "* or " : "") + "a comma-separated list of IPv4 CIDRs such as "
                        + "10.0.0.0/8 (IPv6 is not supported)");
            }
        }
        return v;
    }

    private static String ports(Map<String, String> ann, String name, String dflt, boolean starAllowed)
            throws ConfigException {
        String v = ann.getOrDefault(name, dflt);
        if (v.isEmpty() || (starAllowed && v.equals("*"))) {
            return v;
        }
        for (String p : v.split(",")) {
            int port;
            try {
                port = Integer.parseInt(p.trim());
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65535) {
                throw bad(name, v, (starAllowed ? "* or " : "") + "a comma-separated list of ports 1-65535");
            }
        }
        return v;
    }

    private static int port(Map<String, String> ann, String name, int dflt) throws ConfigException {
        String v = ann.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            int p = Integer.parseInt(v);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw bad(name, v, "a port 1-65535");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseProxyConfig(String text) throws ConfigException {
        Object o;
        try {
            o = YAML.readValue(text, Object.class);
        } catch (java.io.IOException e) {
            throw bad(PROXY_CONFIG, text, "a ProxyConfig in YAML or JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (o == null) {
            return Map.of();
        }
        if (!(o instanceof Map<?, ?>)) {
            throw bad(PROXY_CONFIG, text, "a ProxyConfig mapping such as '{holdApplicationUntilProxyStarts: true}'");
        }
        Map<String, Object> m = (Map<String, Object>) o;
        Object hold = m.get("holdApplicationUntilProxyStarts");
        if (hold != null && !(hold instanceof Boolean)) {
            throw bad(PROXY_CONFIG, text, "holdApplicationUntilProxyStarts: true or false");
        }
        Object drain = m.get("terminationDrainDuration");
        if (drain != null) {
            try {
                ConfigValidator.parseDuration(String.valueOf(drain), "terminationDrainDuration", Duration.ZERO);
            } catch (ConfigException e) {
                throw bad(PROXY_CONFIG, text, "terminationDrainDuration: a duration such as 5s or 1m30s");
            }
        }
        Object conc = m.get("concurrency");
        if (conc != null && !(conc instanceof Integer i && i >= 0)) {
            throw bad(PROXY_CONFIG, text, "concurrency: an integer >= 0");
        }
        Object md = m.get("proxyMetadata");
        if (md != null && !(md instanceof Map<?, ?>)) {
            throw bad(PROXY_CONFIG, text, "proxyMetadata: a mapping of strings");
        }
        return m;
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    static String canonicalName(Map<String, String> labels, String workload) {
        for (String k : List.of("service.istio.io/canonical-name", "app.kubernetes.io/name", "app")) {
            if (labels.containsKey(k)) {
                return labels.get(k);
            }
        }
        return workload;
    }

    static String canonicalRevision(Map<String, String> labels) {
        for (String k : List.of("service.istio.io/canonical-revision", "app.kubernetes.io/version", "version")) {
            if (labels.containsKey(k)) {
                return labels.get(k);
            }
        }
        return "latest";
    }

    private static VolumeMount mount(String path, String volume) {
        VolumeMount m = new VolumeMount();
        m.setMountPath(path);
        m.setName(volume);
        return m;
    }

    private static EnvVar field(String name, String path) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(path)
                .endFieldRef().endValueFrom().build();
    }

    private static ConfigException bad(String annotation, String value, String expected) {
        return new ConfigException("metadata.annotations[" + annotation + "]: " + value + " (expected: " + expected + ")");
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

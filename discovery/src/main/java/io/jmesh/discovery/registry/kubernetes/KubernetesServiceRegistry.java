package io.jmesh.discovery.registry.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.discovery.registry.Protocols;
import io.jmesh.discovery.registry.ServiceRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services and endpoints from a Kubernetes cluster (Istio's {@code serviceregistry/kube} controller):
 * informers on Services, EndpointSlices, Pods, Namespaces and Nodes of every namespace, turned into the
 * same model as ServiceEntries and the RPC registries.
 *
 * <ul>
 *   <li>A Service {@code NAME} in namespace {@code NS} is the host {@code NAME.NS.svc.<domain>}
 *       ({@code cluster.local} by default). A ClusterIP service resolves {@code STATIC} (endpoints by EDS)
 *       with its cluster IPs as addresses; a headless one ({@code clusterIP: None}) resolves {@code NONE}
 *       (original destination); an {@code ExternalName} one is mesh-external, resolves {@code DNS} and has
 *       one endpoint per port at its external name.</li>
 *   <li>A port's protocol comes from {@code appProtocol}, else from Istio's port naming
 *       ({@code <protocol>[-<suffix>]}: {@code http}, {@code http2}, {@code grpc}, {@code grpc-web},
 *       {@code https}, {@code tls}, {@code tcp}, {@code mongo}, {@code mysql}, {@code redis}, and SOFAMesh's
 *       {@code dubbo}, {@code bolt}, {@code sofarpc}), see {@link #protocol}; UDP ports are {@code UDP}.</li>
 *   <li>Endpoints come from the EndpointSlices labelled {@code kubernetes.io/service-name}: ready addresses
 *       only (not-ready ones too when the service sets {@code publishNotReadyAddresses}), the slice's port of
 *       the same name as the service port. An endpoint backed by a Pod carries the pod's labels, its service
 *       account and its locality; one whose Pod is not in the cache yet is left out until the Pod arrives
 *       (as istiod does), so that subsets and identities are never wrong.</li>
 *   <li>Locality is the pod's {@code istio-locality} label (dots for slashes), else the labels of its node:
 *       {@code topology.kubernetes.io/region}, {@code topology.kubernetes.io/zone} and
 *       {@code topology.istio.io/subzone}, as {@code region/zone/subzone}. The network is the pod's, else its
 *       namespace's, {@code topology.istio.io/network} label.</li>
 * </ul>
 *
 * <p>Every informer event schedules one rebuild of the whole view on the registry's own thread
 * ({@link CoalescingInformers}); events that arrive during a rebuild are folded into the next one. Listeners hear about a change only when the services
 * or endpoints differ. The client is the caller's: {@link #close()} stops the informers, not the client.
 * Thread-safe.
 */
public final class KubernetesServiceRegistry implements ServiceRegistry {

    private static final Logger logger = LoggerFactory.getLogger(KubernetesServiceRegistry.class);

    /** Kubernetes' default cluster domain. */
    public static final String DEFAULT_DOMAIN = "cluster.local";

    /** The label that ties an EndpointSlice to its Service. */
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private record State(List<Service> services, List<Endpoint> endpoints) {}

    private final String domain;
    private final SharedIndexInformer<io.fabric8.kubernetes.api.model.Service> services;
    private final SharedIndexInformer<EndpointSlice> slices;
    private final SharedIndexInformer<Pod> pods;
    private final SharedIndexInformer<Namespace> namespaces;
    private final SharedIndexInformer<Node> nodes;
    private final CoalescingInformers informers;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile State state = new State(List.of(), List.of());

    /**
     * Starts informers on {@code client} and returns at once; {@link #hasSynced()} tells when the first full
     * view is built. An unreachable API server is retried in the background.
     *
     * @param domain the cluster's DNS domain, e.g. {@value #DEFAULT_DOMAIN}
     */
    public KubernetesServiceRegistry(KubernetesClient client, String domain) {
        Objects.requireNonNull(client, "client");
        this.domain = Objects.requireNonNull(domain, "domain");
        this.informers = new CoalescingInformers("kubernetes-registry", this::rebuild,
                () -> state.services().size() + " services, " + state.endpoints().size() + " endpoints");
        this.services = informers.watch(client.services().inAnyNamespace().runnableInformer(0), "Service", null);
        this.slices = informers.watch(client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0),
                "EndpointSlice", null);
        this.pods = informers.watch(client.pods().inAnyNamespace().runnableInformer(0), "Pod", null);
        this.namespaces = informers.watch(client.namespaces().runnableInformer(0), "Namespace", null);
        this.nodes = informers.watch(client.nodes().runnableInformer(0), "Node", null);
        informers.start();
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    @Override
    public List<Service> services() {
        return state.services();
    }

    @Override
    public List<Endpoint> endpoints() {
        return state.endpoints();
    }

    /** Returns whether every informer has listed its objects and a view was built from them since. */
    @Override
    public boolean hasSynced() {
        return informers.hasSynced();
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Stops the informers and the registry's thread; the client stays open. */
    @Override
    public void close() {
        informers.close();
    }

    /** On the informers' group thread: builds the view and tells the listeners when it changed. */
    private void rebuild() {
        State next = build();
        boolean changed = !next.equals(state);
        state = next;
        if (changed) {
            for (Listener l : listeners) {
                l.onChange(this);
            }
        }
    }

    private State build() {
        Map<String, Pod> podsByKey = new HashMap<>();
        for (Pod p : pods.getStore().list()) {
            podsByKey.put(key(p), p);
        }
        Map<String, Node> nodesByName = new HashMap<>();
        for (Node n : nodes.getStore().list()) {
            nodesByName.put(n.getMetadata().getName(), n);
        }
        Map<String, Namespace> namespacesByName = new HashMap<>();
        for (Namespace n : namespaces.getStore().list()) {
            namespacesByName.put(n.getMetadata().getName(), n);
        }
        Map<String, List<EndpointSlice>> slicesByService = new HashMap<>();
        for (EndpointSlice s : slices.getStore().list()) {
            String svc = labels(s).get(SERVICE_NAME_LABEL);
            if (svc != null) {
                slicesByService.computeIfAbsent(s.getMetadata().getNamespace() + '/' + svc, k -> new ArrayList<>())
                        .add(s);
            }
        }
        List<io.fabric8.kubernetes.api.model.Service> all = new ArrayList<>(services.getStore().list());
        all.sort(java.util.Comparator.comparing(KubernetesServiceRegistry::key));
        List<Service> outServices = new ArrayList<>();
        List<Endpoint> outEndpoints = new ArrayList<>();
        for (io.fabric8.kubernetes.api.model.Service ks : all) {
            if (ks.getSpec() == null) {
                continue;
            }
            String ns = ks.getMetadata().getNamespace();
            String host = ks.getMetadata().getName() + '.' + ns + ".svc." + domain;
            List<ServicePort> ports = new ArrayList<>();
            if (ks.getSpec().getPorts() != null) {
                for (io.fabric8.kubernetes.api.model.ServicePort p : ks.getSpec().getPorts()) {
                    if (p.getPort() == null) {
                        continue;
                    }
                    IntOrString target = p.getTargetPort();
                    int targetPort = target != null && target.getIntVal() != null ? target.getIntVal() : p.getPort();
                    String name = p.getName() == null ? "" : p.getName();
                    ports.add(new ServicePort(name, p.getPort(),
                            protocol(p.getPort(), name, p.getProtocol(), p.getAppProtocol()), targetPort));
                }
            }
            String type = ks.getSpec().getType();
            if ("ExternalName".equals(type)) {
                String external = ks.getSpec().getExternalName();
                outServices.add(new Service(host, ns, ports, "DNS", true, List.of(), name()));
                if (external != null && !external.isEmpty()) {
                    for (ServicePort p : ports) {
                        outEndpoints.add(new Endpoint(host, p.name(), external, p.number(), Map.of(), "", 1, "", ""));
                    }
                }
                continue;
            }
            boolean headless = "None".equals(ks.getSpec().getClusterIP());
            List<String> addresses = new ArrayList<>();
            if (!headless) {
                if (ks.getSpec().getClusterIPs() != null && !ks.getSpec().getClusterIPs().isEmpty()) {
                    addresses.addAll(ks.getSpec().getClusterIPs());
                } else if (ks.getSpec().getClusterIP() != null && !ks.getSpec().getClusterIP().isEmpty()) {
                    addresses.add(ks.getSpec().getClusterIP());
                }
            }
            outServices.add(new Service(host, ns, ports, headless ? "NONE" : "STATIC", false, addresses, name()));
            boolean publishNotReady = Boolean.TRUE.equals(ks.getSpec().getPublishNotReadyAddresses());
            Set<Endpoint> eps = new LinkedHashSet<>();
            for (EndpointSlice slice : slicesByService.getOrDefault(ns + '/' + ks.getMetadata().getName(), List.of())) {
                addEndpoints(slice, host, ports, publishNotReady, podsByKey, nodesByName, namespacesByName, eps);
            }
            outEndpoints.addAll(eps);
        }
        return new State(List.copyOf(outServices), List.copyOf(outEndpoints));
    }

    private void addEndpoints(EndpointSlice slice, String host, List<ServicePort> ports, boolean publishNotReady,
                              Map<String, Pod> pods, Map<String, Node> nodes, Map<String, Namespace> namespaces,
                              Set<Endpoint> out) {
        if (slice.getEndpoints() == null || slice.getPorts() == null) {
            return;
        }
        String ns = slice.getMetadata().getNamespace();
        for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint e : slice.getEndpoints()) {
            EndpointConditions c = e.getConditions();
            boolean ready = c == null || c.getReady() == null || c.getReady();
            if ((!ready && !publishNotReady) || e.getAddresses() == null) {
                continue;
            }
            Map<String, String> labels = Map.of();
            String serviceAccount = "";
            String nodeName = e.getNodeName();
            String locality = "";
            String network = "";
            ObjectReference ref = e.getTargetRef();
            if (ref != null && "Pod".equals(ref.getKind())) {
                Pod pod = pods.get((ref.getNamespace() == null ? ns : ref.getNamespace()) + '/' + ref.getName());
                if (pod == null) {
                    logger.debug("kubernetes: {}: pod {} not known yet; its endpoint waits", host, ref.getName());
                    continue;
                }
                labels = labels(pod);
                if (pod.getSpec() != null) {
                    String sa = pod.getSpec().getServiceAccountName();
                    serviceAccount = sa == null || sa.isEmpty() ? "default" : sa;
                    if (nodeName == null) {
                        nodeName = pod.getSpec().getNodeName();
                    }
                }
                String podLocality = labels.get("istio-locality");
                if (podLocality != null && !podLocality.isEmpty()) {
                    locality = podLocality.replace('.', '/');
                }
                network = labels.getOrDefault("topology.istio.io/network", "");
            }
            if (locality.isEmpty() && nodeName != null) {
                locality = locality(nodes.get(nodeName));
            }
            if (network.isEmpty()) {
                Namespace n = namespaces.get(ns);
                network = n == null ? "" : labels(n).getOrDefault("topology.istio.io/network", "");
            }
            for (EndpointPort sp : slice.getPorts()) {
                String portName = sp.getName() == null ? "" : sp.getName();
                if (sp.getPort() == null || ports.stream().noneMatch(p -> p.name().equals(portName))) {
                    continue;
                }
                for (String address : e.getAddresses()) {
                    out.add(new Endpoint(host, portName, address, sp.getPort(), labels, locality, 1, network,
                            serviceAccount));
                }
            }
        }
    }

    /** {@code region/zone/subzone} from a node's topology labels, or {@code ""} when it has none. */
    static String locality(Node node) {
        if (node == null) {
            return "";
        }
        Map<String, String> l = labels(node);
        String region = l.getOrDefault("topology.kubernetes.io/region",
                l.getOrDefault("failure-domain.beta.kubernetes.io/region", ""));
        String zone = l.getOrDefault("topology.kubernetes.io/zone",
                l.getOrDefault("failure-domain.beta.kubernetes.io/zone", ""));
        String subzone = l.getOrDefault("topology.istio.io/subzone", "");
        if (region.isEmpty() && zone.isEmpty() && subzone.isEmpty()) {
            return "";
        }
        return region + '/' + zone + '/' + subzone;
    }

    /**
     * Istio's protocol of a Kubernetes service port ({@code kube.ConvertProtocol}): {@code UDP} for UDP ports;
     * else {@code appProtocol} when set (Kubernetes' {@code kubernetes.io/h2c} is HTTP2, {@code kubernetes.io/ws}
     * and {@code kubernetes.io/wss} HTTP); else the port name up to its first {@code -} ({@code grpc-web} as a
     * whole), a known one as {@link Protocols#parse} reads it; an unknown name gives {@code ""} (protocol
     * sniffing), except on the well-known TCP ports 22, 25, 3306 and 27017, which are {@code TCP}.
     */
    static String protocol(int port, String name, String kubeProtocol, String appProtocol) {
        if ("UDP".equalsIgnoreCase(kubeProtocol)) {
            return "UDP";
        }
        String n = name == null ? "" : name;
        if (appProtocol != null && !appProtocol.isEmpty()) {
            switch (appProtocol) {
                case "kubernetes.io/h2c" -> {
                    return "HTTP2";
                }
                case "kubernetes.io/ws", "kubernetes.io/wss" -> {
                    return "HTTP";
                }
                default -> n = appProtocol;
            }
        }
        String lower = n.toLowerCase(Locale.ROOT);
        int dash = lower.indexOf('-');
        String known = Protocols.parse(lower.startsWith("grpc-web") ? "grpc-web"
                : dash < 0 ? lower : lower.substring(0, dash));
        if (!known.isEmpty()) {
            return known;
        }
        return switch (port) {
            case 22, 25, 3306, 27017 -> "TCP";
            default -> "";
        };
    }

    private static Map<String, String> labels(HasMetadata o) {
        Map<String, String> l = o.getMetadata() == null ? null : o.getMetadata().getLabels();
        return l == null ? Map.of() : l;
    }

    private static String key(HasMetadata o) {
        return o.getMetadata().getNamespace() + '/' + o.getMetadata().getName();
    }
}

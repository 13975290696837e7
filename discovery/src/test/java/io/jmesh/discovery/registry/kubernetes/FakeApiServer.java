package io.jmesh.discovery.registry.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.kubernetes.KubernetesConfigStore;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A FAKE Kubernetes API server: fabric8's {@code KubernetesMockServer} in CRUD mode (it stores what is
 * created and serves list and watch on it, as an API server does, without admission, schemas or
 * controllers), on port 0 of 127.0.0.1. No real API server can run on this machine. The objects a test
 * needs (Services, Pods, EndpointSlices as the EndpointSlice controller would write them, Nodes, Namespaces,
 * Istio resources) are created with the real fabric8 client, so the registry under test reads them with the
 * same client, informers and HTTP as against a cluster.
 */
final class FakeApiServer implements AutoCloseable {

    private final KubernetesMockServer server;
    final KubernetesClient client;

    FakeApiServer() throws Exception {
        server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(),
                new io.fabric8.mockwebserver.MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getByName("127.0.0.1"), 0);
        client = server.createClient();
    }

    /** A new client of this server (what a second discovery replica would hold). */
    KubernetesClient newClient() {
        return server.createClient();
    }

    void namespace(String name, Map<String, String> labels) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels)
                .endMetadata().build()).createOr(r -> r.update());
    }

    void node(String name, String region, String zone) {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
                .withLabels(Map.of("topology.kubernetes.io/region", region, "topology.kubernetes.io/zone", zone))
                .endMetadata().build()).create();
    }

    /** A ClusterIP service {@code name} with {@code ports} ({@code name:port}, or {@code name:port:appProtocol}). */
    Service service(String ns, String name, String clusterIp, String... ports) {
        List<ServicePort> ps = new ArrayList<>();
        for (String p : ports) {
            String[] parts = p.split(":");
            ServicePortBuilder b = new ServicePortBuilder().withName(parts[0].isEmpty() ? null : parts[0])
                    .withPort(Integer.parseInt(parts[1])).withProtocol("TCP")
                    .withTargetPort(new IntOrString(Integer.parseInt(parts[1]) + 1000));
            if (parts.length > 2) {
                b.withAppProtocol(parts[2]);
            }
            ps.add(b.build());
        }
        Service s = new ServiceBuilder().withNewMetadata().withName(name).withNamespace(ns).endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(clusterIp).withPorts(ps)
                .withSelector(Map.of("app", name)).endSpec().build();
        return client.services().inNamespace(ns).resource(s).createOr(r -> r.update());
    }

    Pod pod(String ns, String name, String ip, String node, String serviceAccount, Map<String, String> labels) {
        Pod p = new PodBuilder().withNewMetadata().withName(name).withNamespace(ns).withLabels(labels).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName(serviceAccount)
                .withContainers(new ContainerBuilder().withName("app").withImage("app").build()).endSpec()
                .withNewStatus().withPodIP(ip).withPhase("Running").endStatus().build();
        return client.pods().inNamespace(ns).resource(p).createOr(r -> r.update());
    }

    /**
     * The EndpointSlice {@code <service>-abc} of {@code service}, with one port per {@code portName:port} and
     * the given endpoints ({@code podName=ip} ready, {@code podName=ip!} not ready).
     */
    EndpointSlice slice(String ns, String service, List<String> ports, String... endpoints) {
        EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withName(service + "-abc")
                .withNamespace(ns).withLabels(Map.of("kubernetes.io/service-name", service)).endMetadata()
                .withAddressType("IPv4");
        for (String p : ports) {
            String[] parts = p.split(":");
            b.addToPorts(new EndpointPortBuilder().withName(parts[0].isEmpty() ? null : parts[0])
                    .withPort(Integer.parseInt(parts[1])).withProtocol("TCP").build());
        }
        for (String e : endpoints) {
            boolean ready = !e.endsWith("!");
            String[] parts = (ready ? e : e.substring(0, e.length() - 1)).split("=");
            b.addToEndpoints(new EndpointBuilder().withAddresses(parts[1]).withNewConditions().withReady(ready)
                    .endConditions().withNewTargetRef().withKind("Pod").withName(parts[0]).withNamespace(ns)
                    .endTargetRef().build());
        }
        return client.discovery().v1().endpointSlices().inNamespace(ns).resource(b.build())
                .createOr(r -> r.update());
    }

    /** Creates or replaces an Istio object given as YAML ({@code apiVersion}, {@code kind}, {@code metadata}...). */
    void istio(String yaml) {
        KubernetesSerialization serialization = client.getKubernetesSerialization();
        GenericKubernetesResource r = serialization.unmarshal(yaml, GenericKubernetesResource.class);
        ConfigKind kind = ConfigKind.of(r.getKind());
        client.genericKubernetesResources(KubernetesConfigStore.context(kind))
                .inNamespace(r.getMetadata().getNamespace()).resource(r).createOr(x -> x.update());
    }

    void deleteIstio(String kindName, String ns, String name) {
        client.genericKubernetesResources(KubernetesConfigStore.context(ConfigKind.of(kindName)))
                .inNamespace(ns).withName(name).delete();
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}

package io.jmesh.discovery.inject;

import static io.jmesh.discovery.inject.InjectTesting.arg;
import static io.jmesh.discovery.inject.InjectTesting.args;
import static io.jmesh.discovery.inject.InjectTesting.container;
import static io.jmesh.discovery.inject.InjectTesting.documents;
import static io.jmesh.discovery.inject.InjectTesting.env;
import static io.jmesh.discovery.inject.InjectTesting.envField;
import static io.jmesh.discovery.inject.InjectTesting.names;
import static io.jmesh.discovery.inject.InjectTesting.quantities;
import static io.jmesh.discovery.inject.InjectTesting.resource;
import static io.jmesh.discovery.inject.InjectTesting.trees;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.ReplicationController;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.jmesh.proxy.config.ConfigException;

/**
 * {@code kube-inject} against Istio's injection examples (istio/istio {@code pkg/kube/inject/testdata/inject}): the
 * inputs are ours, modelled on Istio's, and each test asserts the shape of Istio's {@code .yaml.injected} output
 * with jmesh's image and commands.
 */
class KubeInjectTest {

    private static KubeInject.Output inject(String file) throws ConfigException {
        return new KubeInject(new SidecarInjector(InjectionSettings.DEFAULT)).inject(file, resource(file));
    }

    private static PodTemplateSpec template(String file) throws Exception {
        List<io.fabric8.kubernetes.api.model.KubernetesResource> docs = documents(inject(file).yaml());
        return ((Deployment) docs.get(0)).getSpec().getTemplate();
    }

    @Test
    void helloGetsIstiosContainersVolumesLabelsAndAnnotations() throws Exception {
        PodTemplateSpec t = template("hello.yaml");
        assertEquals(List.of("hello", "istio-proxy"), names(t.getSpec().getContainers()));
        assertEquals(List.of("istio-init"), names(t.getSpec().getInitContainers()));

        Container init = container(t.getSpec().getInitContainers(), "istio-init");
        assertEquals(InjectionSettings.DEFAULT_IMAGE, init.getImage());
        // istio-iptables' flags for the same pod, run as jmesh iptables.
        assertEquals(List.of("iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                "-x", "", "-b", "*", "-d", "15090,15021,15020"), init.getArgs());
        assertEquals(0L, init.getSecurityContext().getRunAsUser());
        assertEquals(List.of("NET_ADMIN", "NET_RAW"), init.getSecurityContext().getCapabilities().getAdd());

        Container proxy = container(t.getSpec().getContainers(), "istio-proxy");
        assertEquals(InjectionSettings.DEFAULT_IMAGE, proxy.getImage());
        assertEquals("proxy", proxy.getArgs().get(0));
        assertEquals("istiod.istio-system.svc:15012", arg(proxy.getArgs(), "--discovery-address"));
        assertEquals("sidecar~$(INSTANCE_IP)~$(POD_NAME).$(POD_NAMESPACE)~$(POD_NAMESPACE).svc.cluster.local",
                arg(proxy.getArgs(), "--node-id"));
        assertEquals(List.of("INTERCEPTION_MODE=REDIRECT", "CLUSTER_ID=Kubernetes", "MESH_ID=cluster.local",
                "WORKLOAD_NAME=hello"), args(proxy.getArgs(), "--node-metadata"));
        assertEquals(List.of("app=hello", "tier=backend", "track=stable"), args(proxy.getArgs(), "--node-label"));
        assertEquals("/var/run/secrets/tokens/istio-token", arg(proxy.getArgs(), "--token-file"));
        assertEquals("$(SERVICE_ACCOUNT)", arg(proxy.getArgs(), "--service-account"));
        assertEquals("15000", arg(proxy.getArgs(), "--admin-port"));
        assertEquals("2", arg(proxy.getArgs(), "--concurrency"));
        assertEquals("5", arg(proxy.getArgs(), "--drain-time"));
        assertEquals(1, proxy.getPorts().size());
        assertEquals(15090, proxy.getPorts().get(0).getContainerPort());
        assertEquals("http-envoy-prom", proxy.getPorts().get(0).getName());
        assertEquals("/healthz/ready", proxy.getReadinessProbe().getHttpGet().getPath());
        assertEquals(15021, proxy.getReadinessProbe().getHttpGet().getPort().getIntVal());
        assertEquals(1337L, proxy.getSecurityContext().getRunAsUser());
        assertEquals(1337L, proxy.getSecurityContext().getRunAsGroup());
        assertEquals(true, proxy.getSecurityContext().getReadOnlyRootFilesystem());
        assertEquals(Map.of("cpu", "100m", "memory", "128Mi"), quantities(proxy.getResources().getRequests()));
        assertEquals(Map.of("cpu", "2000m", "memory", "1024Mi"), quantities(proxy.getResources().getLimits()));
        // Node identity from the downward API.
        assertEquals("metadata.name", envField(proxy, "POD_NAME"));
        assertEquals("metadata.namespace", envField(proxy, "POD_NAMESPACE"));
        assertEquals("status.podIP", envField(proxy, "INSTANCE_IP"));
        assertEquals("spec.serviceAccountName", envField(proxy, "SERVICE_ACCOUNT"));
        assertEquals("[{\"name\":\"http\",\"containerPort\":80}]", env(proxy, "ISTIO_META_POD_PORTS"));
        assertEquals("hello", env(proxy, "ISTIO_META_APP_CONTAINERS"));
        assertEquals("kubernetes://apis/apps/v1/namespaces/default/deployments/hello", env(proxy, "ISTIO_META_OWNER"));
        assertNull(env(proxy, "ISTIO_KUBE_APP_PROBERS"));
        assertEquals(Map.of("/var/run/secrets/workload-spiffe-uds", "workload-socket",
                        "/var/run/secrets/istio", "istiod-ca-cert", "/var/lib/istio/data", "istio-data",
                        "/etc/istio/proxy", "istio-envoy", "/var/run/secrets/tokens", "istio-token",
                        "/etc/istio/pod", "istio-podinfo"),
                proxy.getVolumeMounts().stream().collect(java.util.stream.Collectors.toMap(
                        m -> m.getMountPath(), m -> m.getName())));

        List<Volume> volumes = t.getSpec().getVolumes();
        assertEquals(SidecarInjector.VOLUMES, volumes.stream().map(Volume::getName).toList());
        Volume token = volumes.get(4);
        assertEquals("istio-ca", token.getProjected().getSources().get(0).getServiceAccountToken().getAudience());
        assertEquals(43200L, token.getProjected().getSources().get(0).getServiceAccountToken().getExpirationSeconds());
        assertEquals("istio-ca-root-cert", volumes.get(5).getConfigMap().getName());
        assertEquals("Memory", volumes.get(1).getEmptyDir().getMedium());
        assertEquals(List.of("metadata.labels", "metadata.annotations"), volumes.get(3).getDownwardAPI().getItems()
                .stream().map(i -> i.getFieldRef().getFieldPath()).toList());
        assertEquals(1337L, t.getSpec().getSecurityContext().getFsGroup());

        Map<String, String> labels = t.getMetadata().getLabels();
        assertEquals("istio", labels.get("security.istio.io/tlsMode"));
        assertEquals("hello", labels.get("service.istio.io/canonical-name"));
        assertEquals("latest", labels.get("service.istio.io/canonical-revision"));
        Map<String, String> ann = t.getMetadata().getAnnotations();
        assertEquals("/stats/prometheus", ann.get("prometheus.io/path"));
        assertEquals("15020", ann.get("prometheus.io/port"));
        assertEquals("true", ann.get("prometheus.io/scrape"));
        assertEquals("hello", ann.get("kubectl.kubernetes.io/default-container"));
        assertEquals("{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"],\"volumes\":"
                + "[\"workload-socket\",\"istio-envoy\",\"istio-data\",\"istio-podinfo\",\"istio-token\","
                + "\"istiod-ca-cert\"],\"imagePullSecrets\":null}", ann.get("sidecar.istio.io/status"));
    }

    @Test
    void probesAreRewrittenToTheStatusPortWithTheOriginalsInIstioKubeAppProbers() throws Exception {
        PodTemplateSpec t = template("hello-probes.yaml");
        Container hello = container(t.getSpec().getContainers(), "hello");
        assertEquals("/app-health/hello/livez", hello.getLivenessProbe().getHttpGet().getPath());
        assertEquals(15020, hello.getLivenessProbe().getHttpGet().getPort().getIntVal());
        assertEquals("/app-health/hello/readyz", hello.getReadinessProbe().getHttpGet().getPath());
        assertEquals(15020, hello.getReadinessProbe().getHttpGet().getPort().getIntVal());
        Container world = container(t.getSpec().getContainers(), "world");
        assertEquals("/app-health/world/livez", world.getLivenessProbe().getHttpGet().getPath());
        assertEquals(List.of("cat", "/tmp/healthy"), world.getReadinessProbe().getExec().getCommand());
        Container proxy = container(t.getSpec().getContainers(), "istio-proxy");
        // Istio's expected value, byte for byte: named port resolved, keys sorted.
        assertEquals("{\"/app-health/hello/livez\":{\"httpGet\":{\"port\":80}},\"/app-health/hello/readyz\":"
                + "{\"httpGet\":{\"port\":3333}},\"/app-health/world/livez\":{\"httpGet\":{\"port\":90}}}",
                env(proxy, "ISTIO_KUBE_APP_PROBERS"));
        assertEquals("hello,world", env(proxy, "ISTIO_META_APP_CONTAINERS"));
        assertEquals("[{\"name\":\"http\",\"containerPort\":80},{\"name\":\"http\",\"containerPort\":90}]",
                env(proxy, "ISTIO_META_POD_PORTS"));
    }

    @Test
    void tcpAndGrpcProbesGoThroughTheSidecarToo() throws Exception {
        PodTemplateSpec t = template("tcp-probes.yaml");
        Container hello = container(t.getSpec().getContainers(), "hello");
        assertNull(hello.getReadinessProbe().getTcpSocket());
        assertEquals("/app-health/hello/readyz", hello.getReadinessProbe().getHttpGet().getPath());
        assertNull(hello.getStartupProbe().getGrpc());
        assertEquals("/app-health/hello/startupz", hello.getStartupProbe().getHttpGet().getPath());
        Container proxy = container(t.getSpec().getContainers(), "istio-proxy");
        assertEquals("{\"/app-health/hello/readyz\":{\"tcpSocket\":{\"port\":8080},\"timeoutSeconds\":5},"
                + "\"/app-health/hello/startupz\":{\"grpc\":{\"port\":8081}}}", env(proxy, "ISTIO_KUBE_APP_PROBERS"));
        assertEquals("v2", t.getMetadata().getLabels().get("service.istio.io/canonical-revision"));
    }

    @Test
    void holdApplicationUntilProxyStartsPutsTheProxyFirstWithAPostStartWait() throws Exception {
        PodTemplateSpec t = template("hello-probes-proxyHoldApplication-ProxyConfig.yaml");
        assertEquals(List.of("istio-proxy", "hello"), names(t.getSpec().getContainers()));
        Container proxy = t.getSpec().getContainers().get(0);
        assertEquals(List.of("jmesh", "wait", "--url", "http://127.0.0.1:15021/healthz/ready"),
                proxy.getLifecycle().getPostStart().getExec().getCommand());
        assertEquals("20", arg(proxy.getArgs(), "--drain-time"));
        assertTrue(env(proxy, "PROXY_CONFIG").contains("\"holdApplicationUntilProxyStarts\":true"));
    }

    @Test
    void trafficAnnotationsBecomeIptablesFlagsAndProxyConfigApplies() throws Exception {
        KubeInject.Output out = inject("traffic-annotations.yaml");
        PodTemplateSpec t = ((Deployment) documents(out.yaml()).get(0)).getSpec().getTemplate();
        Container init = container(t.getSpec().getInitContainers(), "istio-init");
        // Istio's traffic-annotations.yaml.injected.
        assertEquals(List.of("iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                "-i", "127.0.0.1/24,10.96.0.1/24", "-x", "10.96.0.2/24,10.96.0.3/24", "-b", "1,2,3",
                "-d", "15090,15021,4,5,6,15020", "-o", "7,8,9"), init.getArgs());
        Container proxy = container(t.getSpec().getContainers(), "istio-proxy");
        assertEquals("4", arg(proxy.getArgs(), "--concurrency"));
        assertEquals("foo:123", arg(proxy.getArgs(), "--discovery-address"));
        assertEquals("istiod.istio-system.svc:15012", arg(proxy.getArgs(), "--ca-address"));
        assertEquals("bar", env(proxy, "FOO"));
        assertEquals(Map.of("cpu", "4000m"), quantities(proxy.getResources().getRequests()));
        assertEquals(Map.of(), quantities(proxy.getResources().getLimits()));
        assertEquals(List.of(), out.warnings());
    }

    @Test
    void resourceAnnotationsSetTheProxysRequestsAndLimits() throws Exception {
        Container proxy = container(template("resource_annotations.yaml").getSpec().getContainers(), "istio-proxy");
        assertEquals(Map.of("cpu", "1000m", "memory", "1Gi"), quantities(proxy.getResources().getRequests()));
        assertEquals(Map.of("cpu", "2000m", "memory", "2Gi"), quantities(proxy.getResources().getLimits()));
    }

    @Test
    void cronJobsAreInjectedInTheirJobTemplate() throws Exception {
        CronJob cron = (CronJob) documents(inject("cronjob.yaml").yaml()).get(0);
        PodTemplateSpec t = cron.getSpec().getJobTemplate().getSpec().getTemplate();
        assertEquals(List.of("hello", "istio-proxy"), names(t.getSpec().getContainers()));
        assertEquals(List.of("istio-init"), names(t.getSpec().getInitContainers()));
        assertEquals("*/1 * * * *", cron.getSpec().getSchedule());
        assertEquals("kubernetes://apis/batch/v1/namespaces/default/cronjobs/hellocron",
                env(container(t.getSpec().getContainers(), "istio-proxy"), "ISTIO_META_OWNER"));
    }

    @Test
    void everyWorkloadKindIsInjectedAndOtherKindsAreLeftAsTheyAre() throws Exception {
        String input = resource("multi-kinds.yaml");
        KubeInject.Output out = new KubeInject(new SidecarInjector(InjectionSettings.DEFAULT)).inject("multi", input);
        List<io.fabric8.kubernetes.api.model.KubernetesResource> docs = documents(out.yaml());
        assertEquals(9, docs.size());
        List<com.fasterxml.jackson.databind.JsonNode> in = trees(input);
        List<com.fasterxml.jackson.databind.JsonNode> outTrees = trees(out.yaml());
        assertEquals(in.get(0), outTrees.get(0)); // Service
        assertEquals(in.get(1), outTrees.get(1)); // ConfigMap, with its "*"
        List<PodTemplateSpec> templates = List.of(
                ((DaemonSet) docs.get(2)).getSpec().getTemplate(),
                ((StatefulSet) docs.get(3)).getSpec().getTemplate(),
                ((ReplicaSet) docs.get(4)).getSpec().getTemplate(),
                ((ReplicationController) docs.get(5)).getSpec().getTemplate(),
                ((Job) docs.get(6)).getSpec().getTemplate());
        for (PodTemplateSpec t : templates) {
            assertEquals(List.of("hello", "istio-proxy"), names(t.getSpec().getContainers()));
            assertEquals(List.of("istio-init"), names(t.getSpec().getInitContainers()));
        }
        assertEquals("kubernetes://apis/apps/v1/namespaces/prod/statefulsets/hello-sts",
                env(container(templates.get(1).getSpec().getContainers(), "istio-proxy"), "ISTIO_META_OWNER"));
        Pod pod = (Pod) docs.get(7);
        assertEquals(List.of("hello", "istio-proxy"), names(pod.getSpec().getContainers()));
        assertTrue(pod.getMetadata().getAnnotations().containsKey("sidecar.istio.io/status"));
        assertEquals("hello-pod", pod.getMetadata().getName());
        Deployment inList = (Deployment) ((io.fabric8.kubernetes.api.model.KubernetesList) docs.get(8)).getItems()
                .get(0);
        assertEquals(List.of("hello", "istio-proxy"), names(inList.getSpec().getTemplate().getSpec().getContainers()));
        assertEquals(7, out.messages().stream().filter(m -> m.endsWith(": injected")).count(), out.messages()::toString);
    }

    @Test
    void podsThatOptOutOrUseTheHostNetworkAreLeftAlone() throws Exception {
        String input = resource("hello-ignore.yaml");
        KubeInject.Output out = new KubeInject(new SidecarInjector(InjectionSettings.DEFAULT)).inject("f", input);
        assertEquals(trees(input), trees(out.yaml()));
        assertEquals(List.of("Deployment/hello: not injected: annotation sidecar.istio.io/inject=false",
                "Deployment/hello-host-network: not injected: the pod uses the host network"), out.messages());
    }

    @Test
    void injectingTwiceChangesNothing() throws Exception {
        String once = inject("hello.yaml").yaml();
        String twice = new KubeInject(new SidecarInjector(InjectionSettings.DEFAULT)).inject("f", once).yaml();
        assertEquals(trees(once), trees(twice));
    }

    @Test
    void aBadAnnotationIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> inject("traffic-annotations-bad-excludeoutboundports.yaml"));
        assertEquals("traffic-annotations-bad-excludeoutboundports.yaml: Deployment/traffic: "
                + "metadata.annotations[traffic.sidecar.istio.io/excludeOutboundPorts]: -1 "
                + "(expected: a comma-separated list of ports 1-65535)", e.getMessage());
    }

    @Test
    void injectionSelectorsAreCheckedAtLoadAndNamedInTheDecision(@TempDir Path dir) throws Exception {
        Path never = Files.writeString(dir.resolve("never.yaml"), """
                neverInjectSelector:
                  - matchExpressions:
                      - {key: app, operator: Exists}
                """);
        KubeInject.Output out = new KubeInject(new SidecarInjector(InjectionSettings.load(null, null, never)))
                .inject("hello.yaml", resource("hello.yaml"));
        assertEquals(List.of("Deployment/hello: not injected: neverInjectSelector "
                + "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]} selects the pod"),
                out.messages());

        Path operator = Files.writeString(dir.resolve("operator.yaml"), """
                neverInjectSelector:
                  - matchExpressions:
                      - {key: tier, operator: Includes, values: [batch]}
                """);
        assertEquals(operator + ": neverInjectSelector[0].matchExpressions[0].operator: Includes (expected: In, "
                + "NotIn, Exists or DoesNotExist)", assertThrows(ConfigException.class,
                        () -> InjectionSettings.load(null, null, operator)).getMessage());
        Path notASelector = Files.writeString(dir.resolve("not-a-selector.yaml"), """
                alwaysInjectSelector:
                  - matchExpressions: [tier]
                """);
        assertEquals(notASelector + ": alwaysInjectSelector[0]: {\"matchExpressions\":[\"tier\"]} (expected: a label "
                + "selector with matchLabels and/or matchExpressions)", assertThrows(ConfigException.class,
                        () -> InjectionSettings.load(null, null, notASelector)).getMessage());
        Path noValues = Files.writeString(dir.resolve("no-values.yaml"), """
                alwaysInjectSelector:
                  - matchExpressions:
                      - {key: tier, operator: In}
                """);
        assertEquals(noValues + ": alwaysInjectSelector[0].matchExpressions[0].values: none (expected: at least one "
                + "value with In)", assertThrows(ConfigException.class,
                        () -> InjectionSettings.load(null, null, noValues)).getMessage());
    }

    @Test
    void valuesMeshConfigAndInjectConfigFilesApply(@TempDir Path dir) throws Exception {
        Path values = Files.writeString(dir.resolve("values.yaml"), """
                global:
                  hub: registry.example.com/mesh
                  tag: 0.1.0
                  imagePullPolicy: IfNotPresent
                  proxy:
                    resources:
                      requests: {cpu: 50m, memory: 64Mi}
                    excludeOutboundPorts: "3306"
                    tracer: zipkin
                """);
        Path mesh = Files.writeString(dir.resolve("mesh.yaml"), """
                trustDomain: example.org
                defaultConfig:
                  terminationDrainDuration: 1m30s
                  holdApplicationUntilProxyStarts: true
                """);
        Path injectConfig = Files.writeString(dir.resolve("inject.yaml"), """
                policy: disabled
                alwaysInjectSelector:
                  - matchExpressions:
                      - {key: tier, operator: In, values: [backend]}
                injectedAnnotations:
                  example.org/injected: "yes"
                """);
        InjectionSettings settings = InjectionSettings.load(values, mesh, injectConfig);
        KubeInject.Output out = new KubeInject(new SidecarInjector(settings)).inject("hello.yaml",
                resource("hello.yaml"));
        PodTemplateSpec t = ((Deployment) documents(out.yaml()).get(0)).getSpec().getTemplate();
        assertEquals(List.of("istio-proxy", "hello"), names(t.getSpec().getContainers()));
        Container proxy = t.getSpec().getContainers().get(0);
        assertEquals("registry.example.com/mesh/jmesh:0.1.0", proxy.getImage());
        assertEquals("IfNotPresent", proxy.getImagePullPolicy());
        assertEquals("example.org", arg(proxy.getArgs(), "--trust-domain"));
        assertEquals("90", arg(proxy.getArgs(), "--drain-time"));
        assertEquals(Map.of("cpu", "50m", "memory", "64Mi"), quantities(proxy.getResources().getRequests()));
        assertEquals("3306", arg(container(t.getSpec().getInitContainers(), "istio-init").getArgs(), "-o"));
        assertEquals("yes", t.getMetadata().getAnnotations().get("example.org/injected"));
        assertEquals(List.of("Deployment/hello: " + values
                + ": global.proxy.tracer is not supported by jmesh's injector (ignored)"), out.warnings());

        // policy disabled: a pod no selector picks and without inject=true stays as it is
        KubeInject.Output other = new KubeInject(new SidecarInjector(settings)).inject("f", resource("cronjob.yaml"));
        assertEquals(trees(resource("cronjob.yaml")), trees(other.yaml()));

        // a mesh-wide drain duration that is not one is refused naming the file and field (it was a 0s drain)
        Path badMesh = Files.writeString(dir.resolve("bad-mesh.yaml"), """
                defaultConfig:
                  terminationDrainDuration: soon
                """);
        assertEquals(badMesh + ": defaultConfig.terminationDrainDuration: soon (expected: a duration such as 1s or "
                + "500ms)", assertThrows(ConfigException.class,
                        () -> InjectionSettings.load(null, badMesh, null)).getMessage());
    }
}

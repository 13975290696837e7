package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.ZipkinConfig;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.DirectoryConfigWatcher;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;

/**
 * The Telemetry API's scope and merge rules (istiod's {@code pilot/pkg/model/telemetry.go}) and their Envoy
 * translation: {@code stats.PluginConfig} overrides, access logs with CEL filters, and the HTTP connection
 * manager's {@code tracing} for zipkin and opentelemetry providers.
 */
class TelemetryPolicyTest {

    @TempDir
    Path dir;

    static final String ZIPKIN_SERVICE = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: collectors, namespace: istio-system}
            spec:
              hosts: [zipkin.istio-system.svc.cluster.local, otel.observability.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9411, name: http-zipkin, protocol: HTTP}, {number: 4317, name: grpc-otlp, protocol: GRPC}]
              endpoints: [{address: 10.9.0.1}]
            ---
            """;

    static final String MESH = """
            rootNamespace: istio-system
            defaultConfig: {tracing: {sampling: 2.5}, meshId: mesh1}
            extensionProviders:
            - name: zipkin
              zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411, maxTagLength: 56}
            - name: otel
              opentelemetry: {service: observability/otel.observability.svc.cluster.local, port: 4317}
            - name: otel-http
              opentelemetry:
                service: otel.observability.svc.cluster.local
                port: 4317
                http: {path: /v1/traces, timeout: 2s}
            - name: errors
              envoyFileAccessLog: {path: /var/log/errors.log, logFormat: {labels: {code: "%RESPONSE_CODE%"}}}
            - name: otel-als
              envoyOtelAls: {service: otel.observability.svc.cluster.local, port: 4317}
            - name: stackdriver
              stackdriver: {}
            """;

    MeshSnapshot snapshot(String yaml, String mesh) throws Exception {
        MeshConfig mc = DirectoryConfigWatcher.loadMeshConfig(Files.writeString(dir.resolve("mesh.yaml"), mesh));
        return TestSnapshots.of(1, ConfigParser.parse(null, ZIPKIN_SERVICE + yaml), mc);
    }

    static ProxyNode sidecar(String namespace, Map<String, String> labels) {
        return new ProxyNode(ProxyNode.Type.SIDECAR, "sidecar~10.0.0.5~reviews-1." + namespace + "~" + namespace
                + ".svc.cluster.local", "10.0.0.5", "reviews-1", namespace, labels, "Kubernetes");
    }

    static String json(Struct s) throws Exception {
        return JsonFormat.printer().omittingInsignificantWhitespace().print(s).replace("\\u0027", "'");
    }

    @Test
    void metricsMergeRootNamespaceWorkloadByMode() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  metrics:
                  - overrides:
                    - tagOverrides: {source_principal: {operation: REMOVE}}
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: shop, namespace: shop}
                spec:
                  metrics:
                  - overrides:
                    - match: {metric: REQUEST_SIZE}
                      disabled: true
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: reviews, namespace: shop}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  metrics:
                  - overrides:
                    - match: {metric: REQUEST_COUNT, mode: SERVER}
                      tagOverrides:
                        user: {value: "request.headers['x-user']"}
                        source_principal: {value: "'hidden'"}
                """, MESH);
        ProxyNode reviews = sidecar("shop", Map.of("app", "reviews"));
        String server = json(TelemetryPolicy.statsConfig(s, reviews, TelemetryPolicy.Mode.SERVER).orElseThrow());
        // requests_total: the workload's UPSERT of source_principal replaces the mesh's REMOVE; request_bytes dropped.
        assertTrue(server.contains("{\"name\":\"request_bytes\",\"drop\":true,\"tags_to_remove\":[\"source_principal\"]}"),
                server);
        assertTrue(server.contains("{\"name\":\"requests_total\",\"dimensions\":{\"source_principal\":\"'hidden'\","
                + "\"user\":\"request.headers['x-user']\"}}"), server);
        String client = json(TelemetryPolicy.statsConfig(s, reviews, TelemetryPolicy.Mode.CLIENT).orElseThrow());
        assertTrue(client.contains("{\"name\":\"requests_total\",\"tags_to_remove\":[\"source_principal\"]}"), client);
        // Another workload of the namespace: no workload overrides.
        String other = json(TelemetryPolicy.statsConfig(s, sidecar("shop", Map.of("app", "ratings")),
                TelemetryPolicy.Mode.SERVER).orElseThrow());
        assertTrue(other.contains("{\"name\":\"requests_total\",\"tags_to_remove\":[\"source_principal\"]}"), other);
        // Another namespace: the mesh's only; request_bytes kept.
        String web = json(TelemetryPolicy.statsConfig(s, sidecar("web", Map.of()), TelemetryPolicy.Mode.SERVER)
                .orElseThrow());
        assertTrue(!web.contains("\"drop\""), web);
    }

    @Test
    void allMetricsDisabledRemovesTheFilterAndNamespaceCanReenable() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  metrics:
                  - providers: [{name: prometheus}]
                    overrides: [{match: {metric: ALL_METRICS}, disabled: true}]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: shop, namespace: shop}
                spec:
                  metrics:
                  - overrides: [{match: {metric: REQUEST_COUNT}, disabled: false}]
                """, MESH);
        assertEquals(Optional.empty(), TelemetryPolicy.statsConfig(s, sidecar("web", Map.of()),
                TelemetryPolicy.Mode.SERVER));
        assertTrue(TelemetryPolicy.statsConfig(s, sidecar("shop", Map.of()), TelemetryPolicy.Mode.SERVER)
                .isPresent());
        // A provider that is not prometheus: no istio.stats filter (warned).
        MeshSnapshot sd = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  metrics: [{providers: [{name: stackdriver}]}]
                """, MESH);
        assertEquals(Optional.empty(), TelemetryPolicy.statsConfig(sd, sidecar("web", Map.of()),
                TelemetryPolicy.Mode.CLIENT));
        // No Telemetry at all: the default prometheus provider, an empty config.
        assertEquals("{}", json(TelemetryPolicy.statsConfig(snapshot("", MESH), sidecar("web", Map.of()),
                TelemetryPolicy.Mode.CLIENT).orElseThrow()));
    }

    @Test
    void accessLoggingProvidersFiltersModesAndDisabling() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  accessLogging:
                  - providers: [{name: envoy}, {name: errors}, {name: otel-als}]
                    filter: {expression: "response.code >= 500"}
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: shop, namespace: shop}
                spec:
                  accessLogging:
                  - match: {mode: CLIENT}
                    disabled: true
                """, MESH);
        List<AccessLog> web = TelemetryPolicy.accessLogs(s, sidecar("web", Map.of()), TelemetryPolicy.Mode.CLIENT)
                .orElseThrow();
        // envoy (the built-in /dev/stdout provider) and errors (JSON labels); otel-als has no sink here.
        assertEquals(2, web.size());
        FileAccessLog envoy = web.get(0).getTypedConfig().unpack(FileAccessLog.class);
        assertEquals("/dev/stdout", envoy.getPath());
        assertEquals(TelemetryPolicy.ISTIO_TEXT_FORMAT, envoy.getLogFormat().getTextFormatSource().getInlineString());
        FileAccessLog errors = web.get(1).getTypedConfig().unpack(FileAccessLog.class);
        assertEquals("/var/log/errors.log", errors.getPath());
        assertEquals("%RESPONSE_CODE%", errors.getLogFormat().getJsonFormat().getFieldsOrThrow("code")
                .getStringValue());
        for (AccessLog log : web) {
            assertEquals(TelemetryPolicy.CEL_FILTER, log.getFilter().getExtensionFilter().getName());
            assertEquals("response.code >= 500", log.getFilter().getExtensionFilter().getTypedConfig()
                    .unpack(ExpressionFilter.class).getExpression());
        }
        // shop turns client-side logging off (inheriting the mesh's providers); server side is unchanged.
        assertEquals(List.of(), TelemetryPolicy.accessLogs(s, sidecar("shop", Map.of()), TelemetryPolicy.Mode.CLIENT)
                .orElseThrow());
        assertEquals(2, TelemetryPolicy.accessLogs(s, sidecar("shop", Map.of()), TelemetryPolicy.Mode.SERVER)
                .orElseThrow().size());
        // No Telemetry logging and no default providers: MeshConfig accessLogFile applies (empty here).
        assertEquals(Optional.empty(), TelemetryPolicy.accessLogs(snapshot("", MESH), sidecar("web", Map.of()),
                TelemetryPolicy.Mode.SERVER));
        // defaultProviders.accessLogging alone turns logging on.
        assertEquals(1, TelemetryPolicy.accessLogs(snapshot("", MESH + "defaultProviders: {accessLogging: [envoy]}\n"),
                sidecar("web", Map.of()), TelemetryPolicy.Mode.SERVER).orElseThrow().size());
    }

    @Test
    void zipkinTracingAsIstioBuildsIt() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  tracing:
                  - providers: [{name: zipkin}]
                    customTags:
                      team: {literal: {value: checkout}}
                      user: {header: {name: x-user, defaultValue: anonymous}}
                      pod: {environment: {name: POD_NAME}}
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: reviews, namespace: shop}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  tracing: [{randomSamplingPercentage: 10}]
                """, MESH);
        HttpConnectionManager.Tracing t = TelemetryPolicy.tracing(s, sidecar("shop",
                Map.of("app", "reviews", "version", "v1")), TelemetryPolicy.Mode.SERVER).orElseThrow();
        assertEquals(10.0, t.getRandomSampling().getValue());
        assertEquals(100.0, t.getClientSampling().getValue());
        assertEquals(100.0, t.getOverallSampling().getValue());
        assertEquals(56, t.getMaxPathTagLength().getValue());
        assertEquals(TelemetryPolicy.ZIPKIN, t.getProvider().getName());
        ZipkinConfig z = t.getProvider().getTypedConfig().unpack(ZipkinConfig.class);
        assertEquals("outbound|9411||zipkin.istio-system.svc.cluster.local", z.getCollectorCluster());
        assertEquals("/api/v2/spans", z.getCollectorEndpoint());
        assertEquals(ZipkinConfig.CollectorEndpointVersion.HTTP_JSON, z.getCollectorEndpointVersion());
        assertEquals("zipkin.istio-system.svc.cluster.local", z.getCollectorHostname());
        assertTrue(z.getTraceId128Bit());
        assertEquals(false, z.getSharedSpanContext().getValue());
        assertEquals(List.of("istio.canonical_revision", "istio.canonical_service", "istio.mesh_id",
                "istio.namespace", "pod", "team", "user"), t.getCustomTagsList().stream().map(CustomTag::getTag).toList());
        Map<String, CustomTag> tags = new java.util.HashMap<>();
        t.getCustomTagsList().forEach(c -> tags.put(c.getTag(), c));
        assertEquals("v1", tags.get("istio.canonical_revision").getLiteral().getValue());
        assertEquals("reviews", tags.get("istio.canonical_service").getLiteral().getValue());
        assertEquals("mesh1", tags.get("istio.mesh_id").getLiteral().getValue());
        assertEquals("x-user", tags.get("user").getRequestHeader().getName());
        assertEquals("anonymous", tags.get("user").getRequestHeader().getDefaultValue());
        assertEquals("POD_NAME", tags.get("pod").getEnvironment().getName());
        assertEquals("checkout", tags.get("team").getLiteral().getValue());
        // Elsewhere the mesh's: sampling from defaultConfig.tracing.sampling.
        assertEquals(2.5, TelemetryPolicy.tracing(s, sidecar("web", Map.of()), TelemetryPolicy.Mode.CLIENT)
                .orElseThrow().getRandomSampling().getValue());
    }

    @Test
    void openTelemetryDisablingAndUnusableProviders() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  tracing: [{providers: [{name: otel}]}]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: shop, namespace: shop}
                spec:
                  tracing: [{match: {mode: CLIENT}, disableSpanReporting: true}]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: web, namespace: web}
                spec:
                  tracing: [{providers: [{name: otel-http}]}]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: legacy, namespace: legacy}
                spec:
                  tracing: [{providers: [{name: stackdriver}]}]
                """, MESH);
        HttpConnectionManager.Tracing t = TelemetryPolicy.tracing(s, sidecar("shop", Map.of("app", "reviews")),
                TelemetryPolicy.Mode.SERVER).orElseThrow();
        assertEquals(TelemetryPolicy.OPENTELEMETRY, t.getProvider().getName());
        OpenTelemetryConfig otel = t.getProvider().getTypedConfig().unpack(OpenTelemetryConfig.class);
        assertEquals("reviews.shop", otel.getServiceName());
        assertEquals("outbound|4317||otel.observability.svc.cluster.local",
                otel.getGrpcService().getEnvoyGrpc().getClusterName());
        assertEquals("otel.observability.svc.cluster.local", otel.getGrpcService().getEnvoyGrpc().getAuthority());
        assertEquals(Optional.empty(), TelemetryPolicy.tracing(s, sidecar("shop", Map.of()),
                TelemetryPolicy.Mode.CLIENT));
        OpenTelemetryConfig http = TelemetryPolicy.tracing(s, sidecar("web", Map.of()), TelemetryPolicy.Mode.CLIENT)
                .orElseThrow().getProvider().getTypedConfig().unpack(OpenTelemetryConfig.class);
        assertEquals("otel.observability.svc.cluster.local/v1/traces", http.getHttpService().getHttpUri().getUri());
        assertEquals("outbound|4317||otel.observability.svc.cluster.local",
                http.getHttpService().getHttpUri().getCluster());
        assertEquals(2, http.getHttpService().getHttpUri().getTimeout().getSeconds());
        assertEquals(Optional.empty(), TelemetryPolicy.tracing(s, sidecar("legacy", Map.of()),
                TelemetryPolicy.Mode.CLIENT));
        // No Telemetry tracing and no defaultProviders.tracing: none.
        assertEquals(Optional.empty(), TelemetryPolicy.tracing(snapshot("", MESH), sidecar("web", Map.of()),
                TelemetryPolicy.Mode.CLIENT));
        // defaultProviders.tracing alone.
        assertTrue(TelemetryPolicy.tracing(snapshot("", MESH + "defaultProviders: {tracing: [zipkin]}\n"),
                sidecar("web", Map.of()), TelemetryPolicy.Mode.CLIENT).isPresent());
    }

    @Test
    void gatewayTargetRefSelectsTheGatewaysProxies() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: ingress, namespace: shop}
                spec:
                  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: ingress}
                  accessLogging: [{providers: [{name: envoy}]}]
                """, MESH);
        ProxyNode gw = new ProxyNode(ProxyNode.Type.ROUTER, "router~10.0.0.9~ingress-1.shop~shop.svc.cluster.local",
                "10.0.0.9", "ingress-1", "shop", Map.of("gateway.networking.k8s.io/gateway-name", "ingress"),
                "Kubernetes");
        assertEquals(1, TelemetryPolicy.accessLogs(s, gw, TelemetryPolicy.Mode.CLIENT).orElseThrow().size());
        assertEquals(Optional.empty(), TelemetryPolicy.accessLogs(s, sidecar("shop", Map.of()),
                TelemetryPolicy.Mode.CLIENT));
        assertTrue(TelemetryPolicy.dependsOnLabels(s));
    }
}

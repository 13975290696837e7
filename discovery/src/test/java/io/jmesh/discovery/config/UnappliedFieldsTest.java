package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Fields of Istio's API that jmesh accepts but does not apply are named in a warning, never silently ignored. */
class UnappliedFieldsTest {

    private static ConfigParser.Result parse(String yaml) {
        return ConfigParser.parse(Path.of("f.yaml"), yaml);
    }

    private static List<String> warnings(ConfigParser.Result r) {
        return r.warnings().stream().map(ConfigWarning::message).toList();
    }

    @Test
    void namesEveryUnappliedDestinationRuleFieldAndStillAppliesTheRule() {
        ConfigParser.Result r = parse("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: shop}
                spec:
                  host: reviews
                  trafficPolicy:
                    loadBalancer:
                      simple: ROUND_ROBIN
                      warmupDurationSecs: 30s
                    connectionPool:
                      tcp: {maxConnections: 10, tcpKeepalive: {time: 7200s}}
                    portLevelSettings:
                    - port: {number: 9080}
                      tls: {mode: SIMPLE, caCrl: /etc/crl.pem}
                  subsets:
                  - name: v1
                    labels: {version: v1}
                    trafficPolicy:
                      proxyProtocol: {version: V1}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(1, r.configs().size());
        assertEquals(List.of(
                "spec.trafficPolicy.portLevelSettings[0].tls.caCrl: /etc/crl.pem (not applied by jmesh: server "
                        + "certificates are not checked for revocation)",
                "spec.subsets[0].trafficPolicy.proxyProtocol: {version=V1} (not applied by jmesh: no PROXY protocol "
                        + "header is sent)"), warnings(r));
        assertEquals(List.of(true, true), r.warnings().stream().map(ConfigWarning::applied).toList());
    }

    @Test
    void namesUnappliedVirtualServiceSidecarAndTelemetryFields() {
        ConfigParser.Result r = parse("""
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: db, namespace: shop}
                spec:
                  hosts: [db]
                  http:
                  - fault:
                      abort: {http2Error: REFUSED_STREAM, percentage: {value: 1}}
                    route:
                    - destination: {host: db}
                  tcp:
                  - match:
                    - destinationSubnets: [10.0.0.0/8]
                      sourceNamespace: web
                    route:
                    - destination: {host: db}
                ---
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: shop}
                spec:
                  ingress:
                  - port: {number: 9080, protocol: HTTP, name: http}
                    defaultEndpoint: 127.0.0.1:8080
                  egress:
                  - hosts: ["./*"]
                ---
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  metrics:
                  - providers: [{name: prometheus}]
                    reportingInterval: 10s
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(3, r.configs().size());
        assertEquals(List.of(
                "spec.http[0].fault.abort.http2Error: REFUSED_STREAM (not applied by jmesh: only httpStatus and "
                        + "grpcStatus abort requests)",
                "spec.tcp[0].match[0].destinationSubnets: [10.0.0.0/8] (not applied by jmesh: the rule matches every "
                        + "destination address)",
                "spec.tcp[0].match[0].sourceNamespace: web (not applied by jmesh: the rule matches every source "
                        + "namespace)",
                "spec.metrics[0].reportingInterval: 10s (not applied by jmesh: metrics are read when scraped)"),
                warnings(r));
    }

    @Test
    void aRequestAuthenticationTargetingAServiceIsNamedAsNotApplied() {
        ConfigParser.Result r = parse("""
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: jwt, namespace: shop}
                spec:
                  targetRefs:
                  - {kind: Gateway, group: gateway.networking.k8s.io, name: edge}
                  - {kind: Service, group: "", name: reviews}
                  jwtRules:
                  - issuer: https://issuer.example
                    jwksUri: https://issuer.example/jwks
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("spec.targetRefs[1].kind: Service (not applied by jmesh: only a Gateway target is "
                + "applied; the policy validates no token for reviews)"), warnings(r));
    }

    @Test
    void tlsRoutesForSidecarsAreNamedAsNotApplied() {
        ConfigParser.Result r = parse("""
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: api, namespace: shop}
                spec:
                  hosts: [api.example.com]
                  tls:
                  - match:
                    - sniHosts: [api.example.com]
                    route:
                    - destination: {host: api.example.com}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of("spec.tls: 1 route(s) (not applied by jmesh on sidecars (gateways: mesh): only gateway "
                + "servers read tls routes)"), warnings(r));
    }

    @Test
    void aFieldLeftAtItsDefaultIsNoWarning() {
        ConfigParser.Result r = parse("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: shop}
                spec:
                  host: reviews
                  trafficPolicy:
                    connectionPool:
                      http: {useClientProtocol: false, maxRetries: 3}
                """);
        assertEquals(List.of(), r.errors());
        assertEquals(List.of(), warnings(r));
    }
}

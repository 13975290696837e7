package io.jmesh.discovery.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jmesh.discovery.config.ConfigParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each analyzer over the testdata of Istio's {@code pkg/config/analysis/analyzers} (in {@code analysis/*.yaml},
 * adapted where the file says so), expecting the codes and objects of Istio's {@code analyzers_test.go}, as
 * {@code CODE Kind namespace/name} lines, sorted.
 */
class AnalyzersTest {

    @Test
    void destinationRuleAnalyzerReportsSubsetsNoDestinationRuleDefines() {
        assertEquals(List.of(
                "IST0101 VirtualService default/reviews-bogussubset Referenced host+subset in destinationrule not "
                        + "found: \"reviews+bogus\"",
                "IST0101 VirtualService default/reviews-mirror-bogussubset Referenced host+subset in "
                        + "destinationrule not found: \"reviews+bogus\""),
                run(new DestinationRuleAnalyzer(), "virtualservice_destinationrules.yaml", true));
    }

    @Test
    void destinationHostAnalyzerReportsHostsNoServiceEntryDefines() {
        assertEquals(List.of(
                "IST0101 VirtualService default/reviews-bogus-tcp Referenced host not found: "
                        + "\"ratings.other.svc.cluster.local\"",
                "IST0101 VirtualService default/reviews-bogushost Referenced host not found: \"reviews-bogus\"",
                "IST0101 VirtualService default/reviews-bogusport Referenced host:port not found: \"reviews:7000\"",
                "IST0101 VirtualService default/reviews-mirror-bogushost Referenced host not found: "
                        + "\"reviews-bogus\"",
                "IST0112 VirtualService default/reviews-2port-missing This VirtualService routes to a service "
                        + "\"reviews-2port\" that exposes multiple ports [9080 9090]. Specifying a port in the "
                        + "destination is required to disambiguate."),
                run(new DestinationHostAnalyzer(), "virtualservice_destinationhosts.yaml", true));
    }

    @Test
    void gatewayAnalyzerReportsMissingGatewaysAndHostsNotOnThem() {
        assertEquals(List.of(
                "IST0101 VirtualService default/httpbin-bogus",
                "IST0132 VirtualService default/cross-test",
                "IST0132 VirtualService default/httpbin",
                "IST0132 VirtualService default/httpbin-bogus"),
                run(new GatewayAnalyzer(), "virtualservice_gateways.yaml", false));
    }

    @Test
    void gatewayAnalyzerMatchesHostsAndWildcardsOfServers() {
        assertEquals(List.of(
                "IST0132 VirtualService default/testing-service-02-test-01 one or more host [wrong-01.com] defined "
                        + "in VirtualService default/testing-service-02-test-01 not found in Gateway "
                        + "istio-system/testing-gateway-01-test-01.",
                "IST0132 VirtualService default/testing-service-02-test-02",
                "IST0132 VirtualService default/testing-service-02-test-03",
                "IST0132 VirtualService default/testing-service-03-test-04"),
                withTextOnFirst(run(new GatewayAnalyzer(), "virtualservice_host_not_found_gateway.yaml", true)));
    }

    @Test
    void conflictingMeshGatewayHostsAnalyzerHonoursGatewaysAndExportTo() {
        assertEquals(List.of(
                "IST0109 VirtualService bar/ratings",
                "IST0109 VirtualService bar/ratings",
                "IST0109 VirtualService foo/bogus-productpage",
                "IST0109 VirtualService foo/productpage",
                "IST0109 VirtualService foo/ratings",
                "IST0109 VirtualService team2/ratings",
                "IST0109 VirtualService team3/ratings",
                "IST0109 VirtualService team4/ratings"),
                run(new ConflictingMeshGatewayHostsAnalyzer(), "virtualservice_conflictingmeshgatewayhosts.yaml",
                        false));
        assertEquals("IST0109 VirtualService foo/productpage The VirtualServices foo/productpage,"
                        + "foo/bogus-productpage associated with mesh gateway define the same host "
                        + "productpage.foo.svc.cluster.local which can lead to undefined behavior. This can be fixed "
                        + "by merging the conflicting VirtualServices into a single resource.",
                run(new ConflictingMeshGatewayHostsAnalyzer(), "virtualservice_conflictingmeshgatewayhosts.yaml",
                        true).get(3));
    }

    @Test
    void caCertificateAnalyzerWarnsOnTlsWithoutServerVerification() {
        assertEquals(List.of(
                "IST0128 DestinationRule default/db-mtls DestinationRule db-mtls in namespace default has TLS mode "
                        + "set to MUTUAL but no caCertificates are set to validate server identity for host: "
                        + "mydbserver.prod.svc.cluster.local",
                "IST0129 DestinationRule default/db-mtls DestinationRule db-mtls in namespace default has TLS mode "
                        + "set to SIMPLE but no caCertificates are set to validate server identity for host: "
                        + "mydbserver.prod.svc.cluster.local at port 443"),
                run(new CaCertificateAnalyzer(), "destinationrule-compound-simple-mutual.yaml", true));
        assertEquals(List.of("IST0128 DestinationRule default/db-tls"),
                run(new CaCertificateAnalyzer(), "destinationrule-simple-destination-credentialname.yaml", false));
    }

    @Test
    void virtualServiceRulesAnalyzerReportsUnreachableRulesAndIneffectiveMatches() {
        assertEquals(List.of(
                "IST0130 VirtualService default/duplicate-empty-tcp",
                "IST0130 VirtualService default/duplicate-match",
                "IST0130 VirtualService default/duplicate-tcp-match",
                "IST0130 VirtualService foo/sample-foo-cluster01",
                "IST0130 VirtualService none/tls-routing",
                "IST0131 VirtualService default/almost-duplicate-match",
                "IST0131 VirtualService default/almost-duplicate-tcp-match",
                "IST0131 VirtualService default/duplicate-match",
                "IST0131 VirtualService default/duplicate-tcp-match",
                "IST0131 VirtualService none/tls-routing",
                "IST0131 VirtualService none/tls-routing-almostmatch"),
                run(new VirtualServiceRulesAnalyzer(), "virtualservice_dupmatches.yaml", false));
        List<String> texts = run(new VirtualServiceRulesAnalyzer(), "virtualservice_dupmatches.yaml", true);
        assertEquals("IST0130 VirtualService default/duplicate-match VirtualService rule send /api/v1/products to "
                + "sample.bar not used (all matches used by prior rules).", texts.get(1));
        assertEquals("IST0131 VirtualService default/duplicate-match VirtualService rule send /api/v1/products to "
                + "sample.bar match #0 is not used (duplicate/overlapping match in rule send /api/v1/products to "
                + "sample.foo).", texts.get(7));
        assertEquals("IST0130 VirtualService foo/sample-foo-cluster01 VirtualService rule #1 not used (only the "
                + "last rule can have no matches).", texts.get(3));
    }

    @Test
    void serviceEntryAddressesAnalyzerWarnsOnTcpPortsWithoutAddresses() {
        assertEquals(List.of(
                "IST0134 ServiceEntry default/service-entry-test-03 ServiceEntry addresses are required for this "
                        + "protocol.",
                "IST0134 ServiceEntry default/service-entry-test-04 ServiceEntry addresses are required for this "
                        + "protocol.",
                "IST0134 ServiceEntry default/service-entry-test-07 ServiceEntry addresses are required for this "
                        + "protocol."),
                run(new ServiceEntryAddressesAnalyzer(), "serviceentry-missing-addresses-protocol.yaml", true));
    }

    @Test
    void sidecarDefaultSelectorAnalyzerReportsSelectorlessSidecarsOfOneNamespace() {
        assertEquals(List.of(
                "IST0111 Sidecar default/no-selector-1 The Sidecars [no-selector-1 no-selector-2] in namespace "
                        + "\"default\" have no workload selector, which can lead to undefined behavior.",
                "IST0111 Sidecar default/no-selector-2 The Sidecars [no-selector-1 no-selector-2] in namespace "
                        + "\"default\" have no workload selector, which can lead to undefined behavior."),
                run(new SidecarDefaultSelectorAnalyzer(), "sidecar-default-selector.yaml", true));
    }

    @Test
    void conflictingGatewayAnalyzerReportsSameSelectorPortAndHost() {
        assertEquals(List.of(
                "IST0145 Gateway default/alpha Conflict with gateways default/beta (workload selector "
                        + "istio=ingressgateway, port 80, hosts foo.bar).",
                "IST0145 Gateway default/beta Conflict with gateways default/alpha (workload selector "
                        + "istio=ingressgateway, port 80, hosts foo.bar)."),
                run(new ConflictingGatewayAnalyzer(), "analyze-list-type.yaml", true));
    }

    @Test
    void schemaErrorsBecomeIst0106AndSuppressAnnotationHidesCodes() {
        String yaml = """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: bad
                spec:
                  hosts: [reviews]
                  http:
                  - timeout: soon
                    route:
                    - destination: {host: reviews}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: quiet
                  annotations:
                    galley.istio.io/analyze-suppress: IST0101
                spec:
                  hosts: [ratings]
                  http:
                  - route:
                    - destination: {host: nowhere}
                """;
        ConfigParser.Result r = ConfigParser.parse(Path.of("in.yaml"), yaml);
        List<Message> messages = Analyzers.analyze(r.configs(), r.errors());
        assertEquals(1, messages.size(), messages.toString());
        assertEquals("Error [IST0106] (VirtualService default/bad in.yaml:8) Schema validation error: "
                + "spec.http[0].timeout: soon (expected: a duration such as 1s or 500ms)", messages.get(0).toString());
    }

    private static List<String> withTextOnFirst(List<String> withText) {
        List<String> out = new java.util.ArrayList<>();
        out.add(withText.get(0));
        for (String s : withText.subList(1, withText.size())) {
            out.add(s.substring(0, s.indexOf(' ', s.indexOf(' ', s.indexOf(' ') + 1) + 1)));
        }
        return out;
    }

    @Test
    void authorizationPoliciesAnalyzerReportsPoliciesWithoutWorkloadsAndUnknownNamespaces() {
        assertEquals(List.of(
                "IST0101 AuthorizationPolicy httpbin/httpbin-bogus-not-ns Referenced namespace not found: \"*-bogus\"",
                "IST0101 AuthorizationPolicy httpbin/httpbin-bogus-not-ns Referenced namespace not found: \"bogus-*\"",
                "IST0101 AuthorizationPolicy httpbin/httpbin-bogus-ns Referenced namespace not found: \"*-bogus\"",
                "IST0101 AuthorizationPolicy httpbin/httpbin-bogus-ns Referenced namespace not found: \"bogus-*\"",
                "IST0127 AuthorizationPolicy httpbin-empty/httpbin-empty-namespace-wide No matching workloads for "
                        + "this resource with the following labels: ",
                "IST0127 AuthorizationPolicy httpbin/httpbin-nopods No matching workloads for this resource with "
                        + "the following labels: app=bogus-label,version=v1",
                "IST0127 AuthorizationPolicy istio-system/meshwide-httpbin-v1 No matching workloads for this "
                        + "resource with the following labels: version=bogus-version",
                "IST0127 AuthorizationPolicy test-ambient/no-workload No matching workloads for this resource "
                        + "with the following labels: app=httpbin,version=v1"),
                run(new AuthorizationPoliciesAnalyzer(), "authorizationpolicies.yaml", true));
    }

    @Test
    void authorizationPoliciesAnalyzerSkipsWorkloadChecksWhenNoWorkloadIsDeclared() {
        ConfigParser.Result parsed = ConfigParser.parse(Path.of("authz.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: foo}
                spec:
                  selector: {matchLabels: {app: httpbin}}
                  rules: [{from: [{source: {namespaces: [foo]}}]}]
                """);
        assertEquals(List.of("AuthorizationPolicy/foo/p"), parsed.configs().stream().map(c -> c.meta().key()).toList(),
                () -> "the policy is analyzed: " + parsed.errors());
        AnalysisContext context = new AnalysisContext(parsed.configs());
        new AuthorizationPoliciesAnalyzer().analyze(context);
        assertEquals(List.of(), context.messages(), "workloads come from a registry: nothing to say");
    }

    /** Runs {@code analyzer} over the resource file; lines {@code CODE Kind ns/name[ text]}, sorted. */
    static List<String> run(Analyzer analyzer, String resource, boolean withText) {
        ConfigParser.Result parsed = parse(resource);
        assertEquals(List.of(), parsed.errors(), "testdata must pass jmesh's validation");
        AnalysisContext context = new AnalysisContext(parsed.configs());
        analyzer.analyze(context);
        return context.messages().stream()
                .map(m -> m.type().code() + " " + m.origin() + (withText ? " " + m.text() : ""))
                .sorted()
                .toList();
    }

    static ConfigParser.Result parse(String resource) {
        try (InputStream in = AnalyzersTest.class.getResourceAsStream("/analysis/" + resource)) {
            return ConfigParser.parse(Path.of(resource), new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}

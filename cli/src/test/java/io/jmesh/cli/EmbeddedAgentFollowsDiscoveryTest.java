package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.discovery.CaOptions;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.security.agent.SdsClient;
import io.jmesh.proxy.testing.ScriptedXdsServer;
import io.jmesh.security.testing.TestMeshCa;

/**
 * {@code jmesh proxy --discovery-address ... --ca-address ...} as a process: the node agent runs inside the proxy,
 * the generated bootstrap has Istio's {@code sds-grpc} cluster to its socket, and the {@code default} and
 * {@code ROOTCA} secrets of an {@code ISTIO_MUTUAL} cluster in istiod's shape ({@code sds_config} over
 * {@code sds-grpc}; served over ADS by a scripted xDS server) become active with the certificate the real CA
 * issued for the workload's identity.
 */
class EmbeddedAgentFollowsDiscoveryTest {

    private static final String NODE = "sidecar~10.0.0.1~client.default~default.svc.cluster.local";

    @TempDir
    Path dir;

    private Process jmesh(String... args) throws Exception {
        logFile = dir.resolve("proxy.log");
        return JmeshProcess.builder("-Xmx160m", args).redirectErrorStream(true).redirectOutput(logFile.toFile())
                .start();
    }

    private static Path logFile;

    private static String log() {
        try {
            return Files.readString(logFile);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

    /** Istio's SDS config source of workload secrets: the node agent behind the {@code sds-grpc} cluster. */
    private static ConfigSource sdsGrpc() {
        return ConfigSource.newBuilder().setResourceApiVersion(ApiVersion.V3)
                .setInitialFetchTimeout(com.google.protobuf.Duration.getDefaultInstance())
                .setApiConfigSource(ApiConfigSource.newBuilder().setApiType(ApiConfigSource.ApiType.GRPC)
                        .setTransportApiVersion(ApiVersion.V3).addGrpcServices(GrpcService.newBuilder().setEnvoyGrpc(
                                GrpcService.EnvoyGrpc.newBuilder().setClusterName("sds-grpc"))))
                .build();
    }

    /** An outbound cluster as istiod makes it for a DestinationRule with {@code tls.mode: ISTIO_MUTUAL}. */
    private static Cluster istioMutualCluster() {
        UpstreamTlsContext tls = UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
                .addAlpnProtocols("istio")
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default")
                                                           .setSdsConfig(sdsGrpc()))
                .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA")
                                                             .setSdsConfig(sdsGrpc()))).build();
        String name = "outbound|9080||reviews.default.svc.cluster.local";
        return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(
                        LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(
                                Endpoint.newBuilder().setAddress(Address.newBuilder().setSocketAddress(
                                        SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(9)))))))
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                                            .setTypedConfig(Any.pack(tls)))
                .build();
    }

    private static String get(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void istioMutualSecretsComeFromTheEmbeddedAgent() throws Exception {
        Path socket = dir.resolve("sds/socket");
        try (ScriptedXdsServer discovery = ScriptedXdsServer.tcp();
             TestMeshCa ca = TestMeshCa.start(dir.resolve("ca"), "default", "client")) {
            discovery.set(CLUSTER_TYPE, "1", istioMutualCluster());
            Process proxy = jmesh("proxy", "--discovery-address", "127.0.0.1:" + discovery.port(),
                                  "--node-id", NODE, "--admin-port", "0", "--listener-address", "127.0.0.1",
                                  "--listener-port", "9080=0", "--ca-address", ca.address(),
                                  "--ca-root", ca.rootFile().toString(), "--token-file", ca.tokenFile().toString(),
                                  "--service-account", "client", "--sds-socket", socket.toString());
            try {
                Pattern admin = Pattern.compile("jmesh proxy: admin on 127\\.0\\.0\\.1:(\\d+)");
                for (int i = 0; i < 600 && !admin.matcher(log()).find() && proxy.isAlive(); i++) {
                    Thread.sleep(100); // a JVM starting on a busy machine: up to a minute
                }
                Matcher m = admin.matcher(log());
                assertTrue(m.find(), "the proxy prints its admin port:\n" + log());
                int adminPort = Integer.parseInt(m.group(1));
                assertTrue(log().contains("jmesh proxy: node agent spiffe://cluster.local/ns/default/sa/client"
                                          + " SDS on unix:" + socket), log());
                int port = adminPort;
                try {
                    Poll.until(() -> {
                        try {
                            String d = get(port, "/config_dump");
                            return d.contains("\"dynamic_active_secrets\"")
                                   && !d.contains("\"dynamic_warming_secrets\"");
                        } catch (Exception e) {
                            return false;
                        }
                    }, "default and ROOTCA of the ISTIO_MUTUAL cluster arrive from the embedded agent");
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "\nconfig_dump: " + get(port, "/config_dump")
                                             + "\nlog:\n" + log(), e);
                }
                String dump = get(port, "/config_dump");
                assertTrue(dump.contains("\"sds-grpc\""), "the bootstrap has Istio's sds-grpc cluster");
                assertTrue(dump.contains("\"ROOTCA\"") && dump.contains("\"default\""), dump);
                assertTrue(dump.contains("[redacted]"), "the private key is not shown");
                assertEquals("Bearer " + Files.readString(ca.tokenFile()).trim(), ca.received.get(0).headers()
                        .get(io.jmesh.security.ca.server.TokenAuthenticator.AUTHORIZATION), "the agent sent its token");
                proxy.destroy();
                assertTrue(proxy.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, proxy.exitValue());
            } finally {
                proxy.destroyForcibly();
            }
        }
    }

    @Test
    void theEmbeddedAgentGetsItsCertificateFromDiscoverysCaOnTheSecurePort() throws Exception {
        Path config = Files.createDirectories(dir.resolve("config"));
        String token = "client-token-0123456789abcdef";
        Files.writeString(dir.resolve("tokens.yaml"), "tokens:\n- token: " + token
                + "\n  namespace: default\n  serviceAccount: client\n");
        Path tokenFile = Files.writeString(dir.resolve("istio-token"), token + "\n");
        Path socket = dir.resolve("sds/socket");
        try (DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(config,
                new java.net.InetSocketAddress("127.0.0.1", 0), new java.net.InetSocketAddress("127.0.0.1", 0), null,
                DiscoveryOptions.DEFAULT_DEBOUNCE).withCa(CaOptions.of(new java.net.InetSocketAddress("127.0.0.1", 0),
                dir.resolve("ca"), dir.resolve("tokens.yaml"))))) {
            String secure = "127.0.0.1:" + discovery.secureGrpcAddress().getPort();
            Path root = dir.resolve("ca/root-cert.pem");
            // One port, one root: xDS over TLS and the CA, as istiod's 15012; --ca-root defaults to --xds-root-ca.
            Process proxy = jmesh("proxy", "--discovery-address", secure, "--xds-root-ca", root.toString(),
                                  "--node-id", NODE, "--admin-port", "0", "--ca-address", secure,
                                  "--token-file", tokenFile.toString(), "--service-account", "client",
                                  "--sds-socket", socket.toString());
            try {
                for (int i = 0; i < 600 && !(log().contains("new certificate") && log().contains("jmesh proxy: admin on"))
                                && proxy.isAlive(); i++) {
                    Thread.sleep(100); // a JVM starting on a busy machine: up to a minute
                }
                assertTrue(log().contains("new certificate"), "the agent got a certificate:\n" + log());
                try (SdsClient sds = new SdsClient(socket)) {
                    sds.ask("default", "ROOTCA");
                    var r = sds.next();
                    var leaf = SdsClient.leaf(r);
                    assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/default/sa/client")),
                                 leaf.getSubjectAlternativeNames().stream().map(List::copyOf).toList());
                    var rootCert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory
                            .getInstance("X.509").generateCertificate(Files.newInputStream(root));
                    leaf.verify(rootCert.getPublicKey());
                }
                proxy.destroy();
                assertTrue(proxy.waitFor(30, TimeUnit.SECONDS));
                assertEquals(0, proxy.exitValue());
            } finally {
                proxy.destroyForcibly();
            }
        }
    }
}

package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Poll;

/**
 * {@code use_original_dst} among {@code static_resources} listeners, with a real iptables {@code REDIRECT} in a network
 * namespace made by the test: {@code jmesh proxy -c bootstrap.yaml} has a static {@code virtualOutbound} on 15001
 * (its own chain goes to an empty cluster) and a static {@code 0.0.0.0_9999} with {@code bind_to_port: false}; curl to
 * {@code 127.0.0.1:9999} is redirected to 15001 and handed to {@code 0.0.0.0_9999}, which answers. Skipped (with the
 * reason) unless root with ip and iptables.
 */
class StaticHandOffTest {

    private static final String BOOTSTRAP = """
            admin: {address: {socket_address: {address: 127.0.0.1, port_value: 15000}}}
            static_resources:
              listeners:
              - name: virtualOutbound
                address: {socket_address: {address: 0.0.0.0, port_value: 15001}}
                use_original_dst: true
                filter_chains:
                - filters:
                  - name: envoy.filters.network.tcp_proxy
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                      stat_prefix: BlackHoleCluster
                      cluster: BlackHoleCluster
              - name: 0.0.0.0_9999
                address: {socket_address: {address: 0.0.0.0, port_value: 9999}}
                bind_to_port: false
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: handed
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: {prefix: /}
                            direct_response: {status: 200, body: {inline_string: "0.0.0.0_9999 took it"}}
                      http_filters:
                      - name: envoy.filters.http.router
                        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
              clusters:
              - {name: BlackHoleCluster, type: STATIC, connect_timeout: 1s}
            """;

    @Test
    void aRedirectedConnectionIsHandedToTheStaticListenerOfItsOriginalDestination(@TempDir Path dir) throws Exception {
        String missing = NetworkNamespaces.missing();
        Assumptions.assumeTrue(missing == null, () -> "the hand-off test needs root, ip and iptables: " + missing);
        NetworkNamespaces.removeStale("jmsho");
        Path bootstrap = dir.resolve("bootstrap.yaml");
        Files.writeString(bootstrap, BOOTSTRAP, StandardCharsets.UTF_8);
        Path log = dir.resolve("proxy.log");
        try (NetworkNamespaces namespaces = new NetworkNamespaces("jmsho",
                Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000)))) {
            String ns = namespaces.add("pod", "127.0.0.1 localhost\n");
            NetworkNamespaces.in(ns, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "127.0.0.1",
                    "--dport", "9999", "-j", "REDIRECT", "--to-ports", "15001");
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            Process proxy = new ProcessBuilder("ip", "netns", "exec", ns,
                    Paths.get(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                    "-XX:TieredStopAtLevel=1", "-cp", cp, Main.class.getName(), "proxy", "-c", bootstrap.toString(),
                    "--prometheus-port", "-1", "--status-port", "-1", "--concurrency", "1", "--drain-time", "0")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                String[] last = {""};
                try {
                    Poll.until(() -> CapturedPods.throttled() && (last[0] = curl(ns)).endsWith("\n200"), "an answer on 127.0.0.1:9999",
                            Duration.ofSeconds(90));
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + ": " + last[0] + "\n" + Files.readString(log), e);
                }
                assertEquals("0.0.0.0_9999 took it\n200", last[0]);
            } finally {
                proxy.destroy();
                if (!proxy.waitFor(10, TimeUnit.SECONDS)) {
                    proxy.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    private static String curl(String ns) {
        try {
            return NetworkNamespaces.in(ns, "curl", "-sS", "-m", "5", "-w", "\n%{http_code}", "http://127.0.0.1:9999/");
        } catch (IOException e) {
            return e.getMessage();
        }
    }
}

package io.jmesh.proxy.listener.originaldst;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.network.tcp.TcpProxyTestAccess;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * original_dst with a real iptables {@code REDIRECT}: a client dials 127.0.0.1:9080, the kernel redirects it to
 * the proxy's port, and {@code SO_ORIGINAL_DST} gives 9080 back, which picks the filter chain. Needs root and
 * iptables, so it runs only inside a network namespace made for it:
 * <pre>
 * ip netns add jmesh-odst &amp;&amp; ip netns exec jmesh-odst ip link set lo up
 * JMESH_NETNS_REDIRECT_TEST=1 ip netns exec jmesh-odst ./mvnw -o -pl proxy -am test -Dtest=OriginalDstRedirectTest \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * ip netns del jmesh-odst
 * </pre>
 */
@EnabledIfEnvironmentVariable(named = "JMESH_NETNS_REDIRECT_TEST", matches = "1")
class OriginalDstRedirectTest {

    static String chain(String match, String cluster, Path log) {
        return "{\"filter_chain_match\": " + match + ", \"filters\": [{\"name\": \"envoy.filters.network.tcp_proxy\","
                + " \"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3."
                + "TcpProxy\", \"stat_prefix\": \"" + cluster + "\", \"cluster\": \"echo\", \"access_log\": [{\"name\":"
                + " \"envoy.access_loggers.file\", \"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions."
                + "access_loggers.file.v3.FileAccessLog\", \"path\": \"" + log + "\", \"log_format\": {"
                + "\"text_format_source\": {\"inline_string\": \"" + cluster + " %DOWNSTREAM_LOCAL_ADDRESS%\\n\"}}}}]}}]}";
    }

    static void iptables(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "iptables";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertEquals(0, p.waitFor(), String.join(" ", cmd));
    }

    @Test
    void redirectedConnectionIsMatchedByItsOriginalPort(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            TcpProxyTestAccess.echo(echo);
            String yaml = "{\"static_resources\": {\"listeners\": [{\"name\": \"virtualOutbound\", \"address\":"
                    + " {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": 0}}, \"listener_filters\":"
                    + " [{\"name\": \"envoy.filters.listener.original_dst\", \"typed_config\": {\"@type\":"
                    + " \"type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst\"}}],"
                    + " \"filter_chains\": [" + chain("{\"destination_port\": 9080}", "app", log) + ", "
                    + chain("{}", "other", log) + "]}], \"clusters\": [{\"name\": \"echo\", \"connect_timeout\": \"1s\","
                    + " \"type\": \"STATIC\", \"load_assignment\": {\"cluster_name\": \"echo\", \"endpoints\": [{"
                    + "\"lb_endpoints\": [{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": \"127.0.0.1\","
                    + " \"port_value\": " + echo.getLocalPort() + "}}}}]}]}}]}}";
            try (ProxyFixture proxy = ProxyFixture.start(yaml, Map.of())) {
                String[] rule = {"-t", "nat", "OUTPUT", "-p", "tcp", "-d", "127.0.0.1", "--dport", "9080", "-j",
                        "REDIRECT", "--to-ports", String.valueOf(proxy.port())};
                iptables(withOp("-A", rule));
                try {
                    for (int port : new int[] {9080, proxy.port()}) {
                        try (Socket c = new Socket("127.0.0.1", port)) {
                            c.setSoTimeout(10_000);
                            c.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                            assertEquals('x', c.getInputStream().read());
                        }
                    }
                } finally {
                    iptables(withOp("-D", rule));
                }
                List<String> lines = AccessLogFiles.awaitLines(log, 2);
                assertEquals(List.of("app 127.0.0.1:9080", "other 127.0.0.1:" + proxy.port()), lines);
            }
        }
    }

    private static String[] withOp(String op, String[] rule) {
        String[] out = new String[rule.length + 1];
        out[0] = rule[0];
        out[1] = rule[1];
        out[2] = op;
        System.arraycopy(rule, 2, out, 3, rule.length - 2);
        return out;
    }
}

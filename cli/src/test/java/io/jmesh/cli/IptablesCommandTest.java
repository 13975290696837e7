package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code jmesh iptables --dry-run} prints, for istio-iptables' flags, exactly the rules of Istio's golden files
 * ({@code tools/istio-iptables/pkg/capture/testdata}, the cases of its {@code run_test.go}); bad flags are named.
 */
@Isolated
class IptablesCommandTest {

    /** The restore input of a golden file: without the iptables-save / ip6tables-save lines Istio's stub records. */
    private static String golden(String name) throws IOException {
        try (InputStream in = IptablesCommandTest.class.getResourceAsStream("iptables/golden/" + name + ".golden")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return text.lines().filter(l -> !l.equals("iptables-save") && !l.equals("ip6tables-save"))
                    .map(l -> l + "\n").collect(Collectors.joining());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "empty|",
            "ipnets|-i 10.0.0.0/8",
            "outbound-ports-include|-q 32000,31000",
            "outbound-ports-exclude|-o 22,80,443",
            "outbound-ports-exclude-single|-o 22",
            "inbound-ports-wildcard|-b *",
            "inbound-wildcard-exclude|-b * -d 22,80,443",
            "kube-virt-interfaces|-k eth1,eth2 -i *",
    })
    void redirectModeMatchesIstiosGoldens(String name, String flags) throws IOException {
        CliRun r = jmesh(args(flags));
        assertEquals("", r.err());
        assertEquals(0, r.exit());
        assertEquals(golden(name), r.out());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "inbound-ports-tproxy|-b 32000,31000 -m TPROXY",
            "inbound-ports-wildcard-tproxy|-b * -m TPROXY",
    })
    void tproxyModeMatchesIstiosGoldensAndAddsThePolicyRoute(String name, String flags) throws IOException {
        CliRun r = jmesh(args(flags));
        assertEquals(0, r.exit(), r.err());
        assertEquals(golden(name) + "ip -f inet rule add fwmark 1337 lookup 133\n"
                + "ip -f inet route add local default dev lo table 133\n"
                + "sysctl -w net.ipv4.conf.all.route_localnet=1\n", r.out());
    }

    @Test
    void excludedInterfacesReturnFirst() {
        CliRun r = jmesh("iptables", "--dry-run", "-c", "not-istio-nic", "-b", "9080", "-i", "*", "-x", "10.96.0.0/12");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(List.of("-A PREROUTING -i not-istio-nic -j RETURN", "-A OUTPUT -o not-istio-nic -j RETURN"),
                lines.subList(5, 7));
        assertTrue(lines.contains("-A ISTIO_INBOUND -p tcp --dport 9080 -j ISTIO_IN_REDIRECT"), r.out());
        assertTrue(lines.indexOf("-A ISTIO_OUTPUT -d 10.96.0.0/12 -j RETURN")
                < lines.indexOf("-A ISTIO_OUTPUT -j ISTIO_REDIRECT"), r.out());
    }

    @Test
    void badFlagsAreNamedWithWhatIsExpected() {
        CliRun r = jmesh("iptables", "--dry-run", "-i", "10.0.0.0/33");
        assertEquals(2, r.exit());
        assertEquals("error: --istio-service-cidr: 10.0.0.0/33 (expected: an IPv4 CIDR such as 10.0.0.0/8, or *;"
                + " IPv6 is not supported)\n", r.err());
        assertEquals("", r.out());
        CliRun mode = jmesh("iptables", "--dry-run", "-m", "NAT");
        assertEquals(2, mode.exit());
        assertEquals("error: --istio-inbound-interception-mode: NAT (expected: REDIRECT or TPROXY)\n", mode.err());
        CliRun port = jmesh("iptables", "--dry-run", "-b", "80,http");
        assertEquals(2, port.exit());
        assertEquals("error: --istio-inbound-ports: http (expected: a port 1..65535 or *)\n", port.err());
    }

    @Test
    void aCapturedProxyRefusesTheFlagsOfAProxyWithoutIptables() {
        String node = "sidecar~10.1.0.21~reviews-v1.default~default.svc.cluster.local";
        CliRun r = jmesh("proxy", "--discovery-address", "127.0.0.1:15010", "--node-id", node, "--node-metadata",
                "INTERCEPTION_MODE=REDIRECT", "--listener-port", "9080=0");
        assertEquals(2, r.exit());
        assertEquals("error: --node-metadata INTERCEPTION_MODE=REDIRECT (expected: without --listener-address, "
                + "--listener-port and --inbound-address, which are for a proxy without iptables)\n", r.err());
        CliRun mode = jmesh("proxy", "--discovery-address", "127.0.0.1:15010", "--node-id", node, "--node-metadata",
                "INTERCEPTION_MODE=NAT");
        assertEquals(2, mode.exit());
        assertEquals("error: --node-metadata INTERCEPTION_MODE=NAT (expected: REDIRECT, TPROXY or NONE)\n", mode.err());
    }

    private static String[] args(String flags) {
        List<String> a = new ArrayList<>(List.of("iptables", "--dry-run"));
        if (flags != null) {
            a.addAll(List.of(flags.split(" ")));
        }
        return a.toArray(String[]::new);
    }
}

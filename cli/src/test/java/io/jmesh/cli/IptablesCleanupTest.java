package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code jmesh iptables --cleanup} for real, in a network namespace made by the test: after TPROXY-mode rules with an
 * excluded interface, the namespace's {@code nat} and {@code mangle} tables hold no rule at all and the policy route is
 * gone, while a rule of the user's own stays. Skipped (with the reason) unless root with ip and iptables.
 */
class IptablesCleanupTest {

    private NetworkNamespaces namespaces;
    private String ns;

    @BeforeEach
    void namespace() throws Exception {
        String missing = NetworkNamespaces.missing();
        Assumptions.assumeTrue(missing == null, () -> "iptables cleanup needs root, ip and iptables: " + missing);
        NetworkNamespaces.removeStale("jmcln");
        namespaces = new NetworkNamespaces("jmcln",
                Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000)));
        ns = namespaces.add("pod", "127.0.0.1 localhost\n");
    }

    @AfterEach
    void remove() throws Exception {
        if (namespaces != null) {
            namespaces.close();
        }
    }

    /** Runs {@code jmesh iptables <args>} with its commands inside the namespace; the exit code. */
    private int iptables(String... args) {
        return CapturedPods.iptables(ns, args);
    }

    /** The rules of a table ({@code -A} lines of iptables-save) in the namespace. */
    private String rules(String table) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (String line : NetworkNamespaces.in(ns, "iptables-save", "-t", table).split("\n")) {
            if (line.startsWith("-A ") || line.startsWith(":ISTIO_")) {
                sb.append(line).append('\n');
            }
        }
        return sb.toString();
    }

    /** The routes of table 140; "" when the table does not exist (ip says so with an error). */
    private String table140() {
        try {
            return NetworkNamespaces.in(ns, "ip", "route", "show", "table", "140");
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void cleanupRemovesTproxyModeRulesThePolicyRouteAndTheInterfaceRules() throws Exception {
        NetworkNamespaces.in(ns, "iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "53", "-j",
                "RETURN"); // the user's own
        assertEquals(0, iptables("-m", "TPROXY", "-i", "*", "-b", "*", "-c", "eth9", "-t", "1400", "-r", "140"));
        assertTrue(rules("mangle").contains("CONNMARK --save-mark"), rules("mangle"));
        assertTrue(NetworkNamespaces.in(ns, "ip", "rule").contains("lookup 140"));

        assertEquals(0, iptables("--cleanup", "-c", "eth9", "-t", "1400", "-r", "140"));

        assertEquals("-A OUTPUT -p udp -m udp --dport 53 -j RETURN\n", rules("mangle"));
        assertEquals("", rules("nat"));
        assertFalse(NetworkNamespaces.in(ns, "ip", "rule").contains("lookup 140"),
                NetworkNamespaces.in(ns, "ip", "rule"));
        assertEquals("", table140());
        // Rules can be written again.
        assertEquals(0, iptables("-m", "TPROXY", "-i", "*", "-b", "*", "-t", "1400", "-r", "140"));
    }

    @Test
    void cleanupOfANamespaceWithoutRulesChangesNothing() throws Exception {
        assertEquals(0, iptables("--cleanup"));
        assertEquals("", rules("mangle"));
        assertEquals("", rules("nat"));
    }
}

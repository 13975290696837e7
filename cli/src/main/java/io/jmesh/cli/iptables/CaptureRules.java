package io.jmesh.cli.iptables;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's sidecar capture rules for a {@link CaptureConfig}, rule for rule and in Istio's order
 * ({@code tools/istio-iptables/pkg/capture/run.go}; compared with its golden files in tests):
 * <ul>
 *   <li>{@code nat}: chains {@code ISTIO_INBOUND}, {@code ISTIO_REDIRECT} (to the proxy port, 15001),
 *       {@code ISTIO_IN_REDIRECT} (to the inbound capture port, 15006) and {@code ISTIO_OUTPUT};
 *       {@code PREROUTING} sends the included inbound ports to {@code ISTIO_IN_REDIRECT} (REDIRECT mode);
 *       {@code OUTPUT} goes through {@code ISTIO_OUTPUT}, which returns the proxy's own traffic (its UIDs and GIDs,
 *       and {@code 127.0.0.6}, the inbound passthrough source), sends its calls to itself through another
 *       pod IP on {@code lo} back inbound, and redirects the included CIDRs and ports to 15001;</li>
 *   <li>{@code mangle} in TPROXY mode: {@code ISTIO_INBOUND}, {@code ISTIO_DIVERT} and {@code ISTIO_TPROXY}
 *       (TPROXY to 15006 with the mark, which a policy route ({@link #ipCommands()}) delivers locally).</li>
 * </ul>
 * IPv4 only. Immutable.
 */
public final class CaptureRules {

    private static final String LOCALHOST = "127.0.0.1/32";
    /** The source the inbound passthrough cluster binds ({@code InboundPassthroughBindIpv4}). */
    private static final String INBOUND_PASSTHROUGH_SOURCE = "127.0.0.6/32";

    private final CaptureConfig config;
    /** Table name to its lines ({@code -N}, then rules), in the order tables are first used. */
    private final Map<String, List<String>> chains = new LinkedHashMap<>();
    private final Map<String, List<String>> rules = new LinkedHashMap<>();
    private final List<List<String>> ipCommands = new ArrayList<>();

    /** The sysctl that lets packets from a client's address reach 127.0.0.1 (TPROXY mode with original_src). */
    public static final String ROUTE_LOCALNET = "net.ipv4.conf.all.route_localnet";

    private CaptureRules(CaptureConfig config) {
        this.config = config;
    }

    /** Builds the rules; throws {@link IllegalArgumentException} (naming the flag) for a bad config. */
    public static CaptureRules of(CaptureConfig config) {
        CaptureRules r = new CaptureRules(config.validate());
        r.build();
        return r;
    }

    /**
     * The {@code iptables-restore --noflush} input: one {@code *table} block per table used ({@code mangle} before
     * {@code nat}, as Istio), each ending with {@code COMMIT}; every line ends with a newline.
     */
    public String restoreInput() {
        StringBuilder sb = new StringBuilder();
        List<String> tables = new ArrayList<>();
        for (String t : List.of("mangle", "nat")) {
            if (chains.containsKey(t) || rules.containsKey(t)) {
                tables.add(t);
            }
        }
        for (String t : tables) {
            sb.append("* ").append(t).append('\n');
            for (String c : chains.getOrDefault(t, List.of())) {
                sb.append("-N ").append(c).append('\n');
            }
            for (String rule : rules.getOrDefault(t, List.of())) {
                sb.append(rule).append('\n');
            }
            sb.append("COMMIT\n");
        }
        return sb.toString();
    }

    /**
     * The commands to run besides the rules: in TPROXY mode the policy route that delivers marked packets locally
     * ({@code ip -f inet rule add fwmark MARK lookup TABLE}, {@code ip -f inet route add local default dev lo table
     * TABLE}) and {@code sysctl -w net.ipv4.conf.all.route_localnet=1} (so that the sidecar's connection to the
     * application on 127.0.0.1 may come from the client's address); empty otherwise.
     */
    public List<List<String>> ipCommands() {
        return List.copyOf(ipCommands);
    }

    private void chain(String table, String name) {
        chains.computeIfAbsent(table, t -> new ArrayList<>()).add(name);
    }

    private void rule(String table, String... parts) {
        rules.computeIfAbsent(table, t -> new ArrayList<>()).add(String.join(" ", parts));
    }

    private void build() {
        CaptureConfig c = config;
        boolean tproxy = c.mode() == CaptureConfig.Mode.TPROXY;
        boolean inbound = !c.inboundPortsInclude().isEmpty();
        boolean wildcardIn = inbound && c.inboundPortsInclude().get(0).equals("*");
        String mark = String.valueOf(c.tproxyMark());
        String outboundMark = String.valueOf(c.tproxyMark() + 1);

        if (tproxy && inbound) {
            chain("mangle", "ISTIO_DIVERT");
            chain("mangle", "ISTIO_TPROXY");
            chain("mangle", "ISTIO_INBOUND");
        }
        for (String t : List.of("ISTIO_INBOUND", "ISTIO_REDIRECT", "ISTIO_IN_REDIRECT", "ISTIO_OUTPUT")) {
            chain("nat", t);
        }
        for (String nic : c.excludeInterfaces()) {
            if (tproxy && inbound) {
                rule("mangle", "-A PREROUTING -i", nic, "-j RETURN");
                rule("mangle", "-A OUTPUT -o", nic, "-j RETURN");
            }
            rule("nat", "-A PREROUTING -i", nic, "-j RETURN");
            rule("nat", "-A OUTPUT -o", nic, "-j RETURN");
        }
        for (String nic : c.kubeVirtInterfaces()) {
            rule("nat", "-I PREROUTING 1 -i", nic, "-j RETURN");
        }
        rule("nat", "-A ISTIO_INBOUND -p tcp --dport", String.valueOf(c.inboundTunnelPort()), "-j RETURN");
        rule("nat", "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports", String.valueOf(c.proxyPort()));
        rule("nat", "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports", String.valueOf(c.inboundCapturePort()));

        if (inbound) {
            if (tproxy) {
                rule("mangle", "-A ISTIO_DIVERT -j MARK --set-mark", mark);
                rule("mangle", "-A ISTIO_DIVERT -j ACCEPT");
                rule("mangle", "-A ISTIO_TPROXY !", "-d", LOCALHOST, "-p tcp -j TPROXY --tproxy-mark", mark
                        + "/0xffffffff", "--on-port", String.valueOf(c.inboundCapturePort()));
                ipCommands.add(List.of("ip", "-f", "inet", "rule", "add", "fwmark", mark, "lookup",
                        String.valueOf(c.tproxyRouteTable())));
                ipCommands.add(List.of("ip", "-f", "inet", "route", "add", "local", "default", "dev", "lo", "table",
                        String.valueOf(c.tproxyRouteTable())));
                // jmesh's addition: the sidecar's connection to the application on 127.0.0.1 comes from the client's
                // address (original_src); the kernel drops such packets unless route_localnet is on.
                ipCommands.add(List.of("sysctl", "-w", ROUTE_LOCALNET + "=1"));
            }
            String table = tproxy ? "mangle" : "nat";
            rule(table, "-A PREROUTING -p tcp -j ISTIO_INBOUND");
            if (wildcardIn) {
                if (!c.inboundPortsExclude().isEmpty()) {
                    rule(table, "-A ISTIO_INBOUND -p tcp", portMatch(c.inboundPortsExclude()), "-j RETURN");
                }
                if (tproxy) {
                    rule(table, "-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT");
                    rule(table, "-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY");
                } else {
                    rule(table, "-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT");
                }
            } else {
                for (String port : c.inboundPortsInclude()) {
                    if (tproxy) {
                        rule(table, "-A ISTIO_INBOUND -p tcp --dport", port,
                                "-m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT");
                        rule(table, "-A ISTIO_INBOUND -p tcp --dport", port, "-j ISTIO_TPROXY");
                    } else {
                        rule(table, "-A ISTIO_INBOUND -p tcp --dport", port, "-j ISTIO_IN_REDIRECT");
                    }
                }
            }
            if (tproxy) {
                // Replies of inbound connections keep the mark (connmark), and the proxy's calls to its own pod IP
                // over lo are told apart from replies by another mark.
                rule("mangle", "-A PREROUTING -p tcp -m mark --mark", mark, "-j CONNMARK --save-mark");
                rule("mangle", "-A OUTPUT -p tcp -o lo -m mark --mark", mark, "-j RETURN");
                for (String uid : c.proxyUids()) {
                    rule("mangle", "-A OUTPUT !", "-d", LOCALHOST, "-p tcp -o lo -m owner --uid-owner", uid,
                            "-j MARK --set-mark", outboundMark);
                }
                for (String gid : c.proxyGids()) {
                    rule("mangle", "-A OUTPUT !", "-d", LOCALHOST, "-p tcp -o lo -m owner --gid-owner", gid,
                            "-j MARK --set-mark", outboundMark);
                }
                rule("mangle", "-A OUTPUT -p tcp -m connmark --mark", mark, "-j CONNMARK --restore-mark");
                rule("mangle", "-I ISTIO_INBOUND 1 -p tcp -m mark --mark", mark, "-j RETURN");
                rule("mangle", "-I ISTIO_INBOUND 2 -p tcp -s", INBOUND_PASSTHROUGH_SOURCE, "-i lo -j RETURN");
                rule("mangle", "-I ISTIO_INBOUND 3 -p tcp -i lo -m mark ! --mark", outboundMark, "-j RETURN");
            }
        }

        rule("nat", "-A OUTPUT -j ISTIO_OUTPUT");
        if (!c.outboundPortsExclude().isEmpty()) {
            rule("nat", "-A ISTIO_OUTPUT -p tcp", portMatch(c.outboundPortsExclude()), "-j RETURN");
            rule("nat", "-A ISTIO_OUTPUT -p udp", portMatch(c.outboundPortsExclude()), "-j RETURN");
        }
        rule("nat", "-A ISTIO_OUTPUT -o lo -s", INBOUND_PASSTHROUGH_SOURCE, "-j RETURN");
        String tunnel = String.valueOf(c.inboundTunnelPort());
        for (String uid : c.proxyUids()) {
            // The proxy calling a service of its own pod through the pod IP: back inbound, not out again.
            rule("nat", "-A ISTIO_OUTPUT -o lo !", "-d", LOCALHOST, "-p tcp ! --dport", tunnel,
                    "-m owner --uid-owner", uid, "-j ISTIO_IN_REDIRECT");
            rule("nat", "-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner", uid, "-j RETURN");
            rule("nat", "-A ISTIO_OUTPUT -m owner --uid-owner", uid, "-j RETURN");
        }
        for (String gid : c.proxyGids()) {
            rule("nat", "-A ISTIO_OUTPUT -o lo !", "-d", LOCALHOST, "-p tcp ! --dport", tunnel,
                    "-m owner --gid-owner", gid, "-j ISTIO_IN_REDIRECT");
            rule("nat", "-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner", gid, "-j RETURN");
            rule("nat", "-A ISTIO_OUTPUT -m owner --gid-owner", gid, "-j RETURN");
        }
        if (!c.ownerGroupsInclude().isEmpty()) {
            StringBuilder sb = new StringBuilder("-A ISTIO_OUTPUT");
            for (String g : c.ownerGroupsInclude()) {
                sb.append(" -m owner ! --gid-owner ").append(g);
            }
            rule("nat", sb.append(" -j RETURN").toString());
        }
        for (String g : c.ownerGroupsExclude()) {
            rule("nat", "-A ISTIO_OUTPUT -m owner --gid-owner", g, "-j RETURN");
        }
        rule("nat", "-A ISTIO_OUTPUT -d", LOCALHOST, "-j RETURN");
        for (String cidr : c.outboundIpRangesExclude()) {
            rule("nat", "-A ISTIO_OUTPUT -d", cidr, "-j RETURN");
        }
        for (String port : c.outboundPortsInclude()) {
            rule("nat", "-A ISTIO_OUTPUT -p tcp --dport", port, "-j ISTIO_REDIRECT");
        }
        boolean wildcardOut = c.outboundIpRangesInclude().contains("*");
        if (wildcardOut) {
            rule("nat", "-A ISTIO_OUTPUT -j ISTIO_REDIRECT");
            for (String nic : c.kubeVirtInterfaces()) {
                rule("nat", "-I PREROUTING 1 -i", nic, "-j ISTIO_REDIRECT");
            }
        } else {
            for (String cidr : c.outboundIpRangesInclude()) {
                for (String nic : c.kubeVirtInterfaces()) {
                    rule("nat", "-I PREROUTING 1 -i", nic, "-d", cidr, "-j ISTIO_REDIRECT");
                }
                rule("nat", "-A ISTIO_OUTPUT -d", cidr, "-j ISTIO_REDIRECT");
            }
        }
    }

    /** {@code --dport P} for one port, {@code -m multiport --dports P1,P2} for several (Istio's form). */
    private static String portMatch(List<String> ports) {
        return ports.size() == 1 ? "--dport " + ports.get(0) : "-m multiport --dports " + String.join(",", ports);
    }
}

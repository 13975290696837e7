package io.jmesh.cli.iptables;

import java.util.List;

/**
 * What {@code istio-iptables} captures, as its flags say (Istio's {@code tools/istio-iptables/pkg/config}). Lists are
 * kept in the order given; {@code "*"} in a list means all. Immutable; {@link #validate()} checks values.
 *
 * @param proxyPort            {@code -p}: where outbound TCP is redirected (Istio: 15001)
 * @param inboundCapturePort   {@code -z}: where inbound TCP is redirected (Istio: 15006)
 * @param inboundTunnelPort    {@code --inbound-tunnel-port}: never captured (HBONE, Istio: 15008)
 * @param proxyUids            {@code -u}: users whose traffic is the proxy's own and not captured (Istio: 1337)
 * @param proxyGids            {@code -g}: groups likewise (Istio: the proxy UID)
 * @param mode                 {@code -m}: REDIRECT (NAT) or TPROXY (mangle, keeps the original destination)
 * @param outboundIpRangesInclude {@code -i}: CIDRs whose outbound traffic is captured, or {@code *}
 * @param outboundIpRangesExclude {@code -x}: CIDRs never captured
 * @param inboundPortsInclude  {@code -b}: inbound ports captured, or {@code *}
 * @param inboundPortsExclude  {@code -d}: inbound ports not captured (with {@code -b *})
 * @param outboundPortsInclude {@code -q}: outbound ports captured whatever the destination
 * @param outboundPortsExclude {@code -o}: outbound ports never captured
 * @param kubeVirtInterfaces   {@code -k}: interfaces whose inbound traffic is treated as outbound
 * @param excludeInterfaces    {@code -c}: interfaces never captured
 * @param tproxyMark           {@code -t}: the packet mark of TPROXY mode (Istio: 1337)
 * @param tproxyRouteTable     {@code -r}: the routing table of TPROXY mode (Istio: 133)
 * @param ownerGroupsInclude   Istio's {@code --include-outbound-owner-groups}: only these groups' traffic is captured
 * @param ownerGroupsExclude   Istio's {@code --exclude-outbound-owner-groups}: these groups' traffic is not captured
 */
public record CaptureConfig(int proxyPort, int inboundCapturePort, int inboundTunnelPort, List<String> proxyUids,
                            List<String> proxyGids, Mode mode, List<String> outboundIpRangesInclude,
                            List<String> outboundIpRangesExclude, List<String> inboundPortsInclude,
                            List<String> inboundPortsExclude, List<String> outboundPortsInclude,
                            List<String> outboundPortsExclude, List<String> kubeVirtInterfaces,
                            List<String> excludeInterfaces, int tproxyMark, int tproxyRouteTable,
                            List<String> ownerGroupsInclude, List<String> ownerGroupsExclude) {

    /** How inbound traffic is captured: Istio's {@code INTERCEPTION_MODE}. */
    public enum Mode { REDIRECT, TPROXY }

    public CaptureConfig {
        proxyUids = List.copyOf(proxyUids);
        proxyGids = List.copyOf(proxyGids);
        outboundIpRangesInclude = List.copyOf(outboundIpRangesInclude);
        outboundIpRangesExclude = List.copyOf(outboundIpRangesExclude);
        inboundPortsInclude = List.copyOf(inboundPortsInclude);
        inboundPortsExclude = List.copyOf(inboundPortsExclude);
        outboundPortsInclude = List.copyOf(outboundPortsInclude);
        outboundPortsExclude = List.copyOf(outboundPortsExclude);
        kubeVirtInterfaces = List.copyOf(kubeVirtInterfaces);
        excludeInterfaces = List.copyOf(excludeInterfaces);
        ownerGroupsInclude = List.copyOf(ownerGroupsInclude);
        ownerGroupsExclude = List.copyOf(ownerGroupsExclude);
    }

    /** Istio's defaults ({@code istio-iptables} with no flag but the proxy's UID): nothing inbound, nothing outbound. */
    public static CaptureConfig defaults() {
        return new CaptureConfig(15001, 15006, 15008, List.of("1337"), List.of("1337"), Mode.REDIRECT, List.of(),
                List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), 1337, 133, List.of(),
                List.of());
    }

    /**
     * This config in TPROXY mode capturing every inbound port: its rules hold everything {@code jmesh iptables} may
     * have written outside the {@code ISTIO_*} chains for these flags (the TPROXY {@code mangle} rules on
     * {@code PREROUTING}/{@code OUTPUT}, the {@code -c} interface rules) and its policy route; what
     * {@link IptablesApplier#cleanup(CaptureConfig)} removes.
     */
    public CaptureConfig everythingToRemove() {
        return new CaptureConfig(proxyPort, inboundCapturePort, inboundTunnelPort, proxyUids, proxyGids, Mode.TPROXY,
                outboundIpRangesInclude, outboundIpRangesExclude, List.of("*"), inboundPortsExclude,
                outboundPortsInclude, outboundPortsExclude, kubeVirtInterfaces, excludeInterfaces, tproxyMark,
                tproxyRouteTable, ownerGroupsInclude, ownerGroupsExclude);
    }

    /** Splits a comma-separated flag value as Istio does: blanks and empty items dropped. */
    public static List<String> split(String value) {
        if (value == null) {
            return List.of();
        }
        List<String> out = new java.util.ArrayList<>();
        for (String s : value.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /**
     * Checks every value; throws {@link IllegalArgumentException} naming the flag, the value and what is expected.
     */
    public CaptureConfig validate() {
        port("--proxy-port", proxyPort);
        port("--inbound-capture-port", inboundCapturePort);
        port("--inbound-tunnel-port", inboundTunnelPort);
        ids("--proxy-uid", proxyUids, false);
        ids("--proxy-gid", proxyGids, false);
        cidrs("--istio-service-cidr", outboundIpRangesInclude, true);
        cidrs("--istio-service-exclude-cidr", outboundIpRangesExclude, false);
        ports("--istio-inbound-ports", inboundPortsInclude, true);
        ports("--istio-local-exclude-ports", inboundPortsExclude, false);
        ports("--istio-include-outbound-ports", outboundPortsInclude, false);
        ports("--istio-local-outbound-ports-exclude", outboundPortsExclude, false);
        ids("--include-outbound-owner-groups", ownerGroupsInclude, true);
        ids("--exclude-outbound-owner-groups", ownerGroupsExclude, true);
        if (!ownerGroupsInclude.isEmpty() && !ownerGroupsExclude.isEmpty()) {
            throw new IllegalArgumentException("--include-outbound-owner-groups: " + String.join(",", ownerGroupsInclude)
                    + " (expected: not with --exclude-outbound-owner-groups)");
        }
        for (String i : kubeVirtInterfaces) {
            iface("--kube-virt-interfaces", i);
        }
        for (String i : excludeInterfaces) {
            iface("--istio-exclude-interfaces", i);
        }
        if (tproxyMark < 1) {
            throw new IllegalArgumentException("--inbound-tproxy-mark: " + tproxyMark + " (expected: > 0)");
        }
        if (tproxyRouteTable < 1 || tproxyRouteTable > 252) {
            throw new IllegalArgumentException("--inbound-tproxy-route-table: " + tproxyRouteTable
                    + " (expected: 1..252)");
        }
        return this;
    }

    private static void port(String flag, int p) {
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException(flag + ": " + p + " (expected: 1..65535)");
        }
    }

    private static void ports(String flag, List<String> ports, boolean wildcard) {
        for (String p : ports) {
            if (wildcard && p.equals("*")) {
                if (ports.size() > 1) {
                    throw new IllegalArgumentException(flag + ": " + String.join(",", ports)
                            + " (expected: * alone, or ports)");
                }
                continue;
            }
            int n;
            try {
                n = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > 65535) {
                throw new IllegalArgumentException(flag + ": " + p + " (expected: a port 1..65535"
                        + (wildcard ? " or *" : "") + ")");
            }
        }
    }

    private static void ids(String flag, List<String> ids, boolean names) {
        for (String id : ids) {
            boolean ok = names ? id.matches("[A-Za-z0-9_][A-Za-z0-9_.-]*") : id.matches("[0-9]+");
            if (!ok) {
                throw new IllegalArgumentException(flag + ": " + id + " (expected: "
                        + (names ? "a group name or id" : "a numeric id") + ")");
            }
        }
    }

    private static void cidrs(String flag, List<String> cidrs, boolean wildcard) {
        for (String c : cidrs) {
            if (wildcard && c.equals("*")) {
                continue;
            }
            if (!isIpv4Cidr(c)) {
                throw new IllegalArgumentException(flag + ": " + c + " (expected: an IPv4 CIDR such as 10.0.0.0/8"
                        + (wildcard ? ", or *" : "") + "; IPv6 is not supported)");
            }
        }
    }

    static boolean isIpv4Cidr(String c) {
        String[] parts = c.split("/", -1);
        if (parts.length != 2 || !parts[1].matches("[0-9]{1,2}") || Integer.parseInt(parts[1]) > 32) {
            return false;
        }
        String[] octets = parts[0].split("\\.", -1);
        if (octets.length != 4) {
            return false;
        }
        for (String o : octets) {
            if (!o.matches("[0-9]{1,3}") || Integer.parseInt(o) > 255) {
                return false;
            }
        }
        return true;
    }

    private static void iface(String flag, String name) {
        if (!name.matches("[A-Za-z0-9_.@-]{1,15}")) {
            throw new IllegalArgumentException(flag + ": " + name + " (expected: an interface name)");
        }
    }
}

package io.jmesh.cli;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;

import io.jmesh.cli.iptables.CaptureConfig;
import io.jmesh.cli.iptables.CaptureRules;
import io.jmesh.cli.iptables.CommandRunner;
import io.jmesh.cli.iptables.IptablesApplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh iptables}: writes Istio's sidecar capture rules ({@code istio-iptables}, same flags) into the current
 * network namespace, or prints them with {@code --dry-run}. Exit code 2 with the flag named for a bad value, 1 when
 * a command fails (its error output printed), 0 otherwise.
 */
@Command(name = "iptables", mixinStandardHelpOptions = true,
        description = {"Capture a workload's traffic for its sidecar: Istio's iptables rules (istio-iptables flags).",
                "Outbound TCP goes to the proxy port (15001), inbound to the inbound capture port (15006); the "
                        + "proxy's own traffic (--proxy-uid, --proxy-gid) is not captured."})
final class IptablesCommand implements Callable<Integer> {

    @Option(names = {"-p", "--envoy-port", "--proxy-port"}, defaultValue = "15001", paramLabel = "PORT",
            description = "Where outbound TCP is redirected (default: ${DEFAULT-VALUE}).")
    int proxyPort;

    @Option(names = {"-z", "--inbound-capture-port"}, defaultValue = "15006", paramLabel = "PORT",
            description = "Where inbound TCP is redirected (default: ${DEFAULT-VALUE}).")
    int inboundCapturePort;

    @Option(names = "--inbound-tunnel-port", defaultValue = "15008", paramLabel = "PORT",
            description = "Never captured (HBONE; default: ${DEFAULT-VALUE}).")
    int inboundTunnelPort;

    @Option(names = {"-u", "--proxy-uid"}, defaultValue = "1337", paramLabel = "UID[,UID]",
            description = "The proxy's user id(s), whose traffic is not captured (default: ${DEFAULT-VALUE}).")
    String proxyUid;

    @Option(names = {"-g", "--proxy-gid"}, paramLabel = "GID[,GID]",
            description = "The proxy's group id(s), whose traffic is not captured (default: the proxy UID).")
    String proxyGid;

    @Option(names = {"-m", "--istio-inbound-interception-mode"}, defaultValue = "REDIRECT", paramLabel = "MODE",
            description = "Inbound capture: REDIRECT (NAT; the proxy reads SO_ORIGINAL_DST) or TPROXY (keeps the "
                    + "original destination; needs a transparent listener) (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = {"-i", "--istio-service-cidr"}, defaultValue = "", paramLabel = "CIDRS",
            description = "Outbound destinations captured: comma-separated CIDRs, or * for all (default: none).")
    String outboundInclude;

    @Option(names = {"-x", "--istio-service-exclude-cidr"}, defaultValue = "", paramLabel = "CIDRS",
            description = "Outbound destinations never captured (comma-separated CIDRs).")
    String outboundExclude;

    @Option(names = {"-b", "--istio-inbound-ports"}, defaultValue = "", paramLabel = "PORTS",
            description = "Inbound ports captured: comma-separated, or * for all (default: none).")
    String inboundInclude;

    @Option(names = {"-d", "--istio-local-exclude-ports"}, defaultValue = "", paramLabel = "PORTS",
            description = "Inbound ports not captured with -b * (comma-separated).")
    String inboundExclude;

    @Option(names = {"-q", "--istio-include-outbound-ports"}, defaultValue = "", paramLabel = "PORTS",
            description = "Outbound ports captured whatever the destination (comma-separated).")
    String outboundPortsInclude;

    @Option(names = {"-o", "--istio-local-outbound-ports-exclude"}, defaultValue = "", paramLabel = "PORTS",
            description = "Outbound ports never captured (comma-separated).")
    String outboundPortsExclude;

    @Option(names = {"-k", "--kube-virt-interfaces"}, defaultValue = "", paramLabel = "NICS",
            description = "Interfaces whose inbound traffic is treated as outbound (comma-separated).")
    String kubeVirtInterfaces;

    @Option(names = {"-c", "--istio-exclude-interfaces"}, defaultValue = "", paramLabel = "NICS",
            description = "Interfaces never captured (comma-separated).")
    String excludeInterfaces;

    @Option(names = {"-t", "--inbound-tproxy-mark"}, defaultValue = "1337", paramLabel = "MARK",
            description = "TPROXY mode: the packet mark (default: ${DEFAULT-VALUE}).")
    int tproxyMark;

    @Option(names = {"-r", "--inbound-tproxy-route-table"}, defaultValue = "133", paramLabel = "TABLE",
            description = "TPROXY mode: the routing table delivering marked packets locally (default: ${DEFAULT-VALUE}).")
    int tproxyRouteTable;

    @Option(names = "--include-outbound-owner-groups", defaultValue = "", paramLabel = "GROUPS",
            description = "Capture only the outbound traffic of these groups (names or ids).")
    String ownerGroupsInclude;

    @Option(names = "--exclude-outbound-owner-groups", defaultValue = "", paramLabel = "GROUPS",
            description = "Do not capture the outbound traffic of these groups (names or ids).")
    String ownerGroupsExclude;

    @Option(names = {"-n", "--dry-run"},
            description = "Print the rules (iptables-restore input, then any ip command) instead of applying them.")
    boolean dryRun;

    @Option(names = "--cleanup",
            description = "Remove what jmesh iptables wrote with these flags (-t, -r, -c, -k): the ISTIO_* chains and the "
                    + "rules jumping to them, TPROXY mode's mangle rules and policy route, the interface rules.")
    boolean cleanup;

    /** Runs the system commands; tests replace it. */
    CommandRunner runner = CommandRunner.local();

    @Override
    public Integer call() {
        IptablesApplier applier = new IptablesApplier(runner);
        try {
            if (cleanup) {
                applier.cleanup(config().validate());
                return 0;
            }
            CaptureRules rules = CaptureRules.of(config());
            if (dryRun) {
                System.out.print(rules.restoreInput());
                for (List<String> ip : rules.ipCommands()) {
                    System.out.println(String.join(" ", ip));
                }
            } else {
                applier.apply(rules);
            }
            return 0;
        } catch (IllegalArgumentException e) { // a bad flag value (CaptureConfig.validate)
            System.err.println("error: " + e.getMessage());
            return 2;
        } catch (IOException e) { // a command failed
            System.err.println("error: " + e.getMessage());
            return 1;
        }
    }

    /** The capture config of the flags. */
    CaptureConfig config() {
        CaptureConfig.Mode m;
        try {
            m = CaptureConfig.Mode.valueOf(mode);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--istio-inbound-interception-mode: " + mode
                    + " (expected: REDIRECT or TPROXY)");
        }
        List<String> uids = CaptureConfig.split(proxyUid);
        return new CaptureConfig(proxyPort, inboundCapturePort, inboundTunnelPort, uids,
                proxyGid == null ? uids : CaptureConfig.split(proxyGid), m, CaptureConfig.split(outboundInclude),
                CaptureConfig.split(outboundExclude), CaptureConfig.split(inboundInclude),
                CaptureConfig.split(inboundExclude), CaptureConfig.split(outboundPortsInclude),
                CaptureConfig.split(outboundPortsExclude), CaptureConfig.split(kubeVirtInterfaces),
                CaptureConfig.split(excludeInterfaces), tproxyMark, tproxyRouteTable,
                CaptureConfig.split(ownerGroupsInclude), CaptureConfig.split(ownerGroupsExclude));
    }
}

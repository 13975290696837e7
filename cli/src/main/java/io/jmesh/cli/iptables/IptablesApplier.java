package io.jmesh.cli.iptables;

import java.io.IOException;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@link CaptureRules} with {@code iptables-restore --noflush} (all rules of a table at once, as Istio) and
 * the TPROXY policy route with {@code ip}; removes them again with {@link #cleanup()}. Blocking; one call at a time.
 */
public final class IptablesApplier {

    private static final Logger logger = LoggerFactory.getLogger(IptablesApplier.class);

    /** The tables Istio's capture writes to. */
    private static final List<String> TABLES = List.of("mangle", "nat");

    private final CommandRunner runner;

    public IptablesApplier(CommandRunner runner) {
        this.runner = runner;
    }

    /**
     * Applies the rules. Refuses (without changing anything) when {@code ISTIO_*} chains exist already: run
     * {@link #cleanup()} first. Throws {@link IOException} with the failing command's error output.
     */
    public void apply(CaptureRules rules) throws IOException {
        for (String table : TABLES) {
            String saved = check(List.of("iptables-save", "-t", table), "").stdout();
            if (saved.contains(":ISTIO_")) {
                throw new IOException("table " + table + " already has ISTIO_* chains (expected: none; remove them "
                        + "with jmesh iptables --cleanup)");
            }
        }
        check(List.of("iptables-restore", "--noflush"), rules.restoreInput());
        for (List<String> ip : rules.ipCommands()) {
            CommandRunner.Result r = runner.run(ip, "");
            // The policy route may exist from an earlier run; ip says "File exists" and nothing changes.
            if (r.exit() != 0 && !r.stderr().contains("File exists")) {
                throw new IOException(String.join(" ", ip) + ": exit " + r.exit() + ": " + r.stderr().strip());
            }
        }
        logger.info("applied {} rule lines", rules.restoreInput().lines().count());
    }

    /**
     * Removes what {@link #apply} wrote for {@code config}'s flags, in any mode: the rules it puts outside the
     * {@code ISTIO_*} chains (TPROXY mode's {@code CONNMARK} and {@code MARK} rules on {@code mangle}
     * {@code PREROUTING}/{@code OUTPUT} with the mark of {@code -t}, the {@code -c} and {@code -k} interface rules;
     * each with {@code iptables -D}, absent ones skipped), the TPROXY policy route ({@code ip rule del fwmark MARK
     * lookup TABLE}, {@code ip route del local default dev lo table TABLE}, absent ones skipped; {@code route_localnet}
     * back to 0, its default), then every
     * {@code ISTIO_*} chain and every rule jumping to one ({@link #cleanup()}).
     */
    public void cleanup(CaptureConfig config) throws IOException {
        CaptureRules all = CaptureRules.of(config.everythingToRemove());
        String table = null;
        for (String line : all.restoreInput().split("\n")) {
            if (line.startsWith("* ")) {
                table = line.substring(2).strip();
                continue;
            }
            String[] parts = line.split(" ");
            boolean rule = parts.length > 2 && (parts[0].equals("-A") || parts[0].equals("-I"));
            if (!rule || parts[1].startsWith("ISTIO_") || line.contains("-j ISTIO_")) {
                continue; // chains and jumps to them go with cleanup()
            }
            List<String> argv = new java.util.ArrayList<>(List.of("iptables", "-t", table, "-D", parts[1]));
            // "-I CHAIN N spec": the spec starts after the position.
            int spec = parts[0].equals("-I") && parts[2].matches("[0-9]+") ? 3 : 2;
            argv.addAll(List.of(parts).subList(spec, parts.length));
            CommandRunner.Result r = runner.run(argv, "");
            if (r.exit() == 0) {
                logger.info("removed {}", String.join(" ", argv));
            }
        }
        for (List<String> ip : all.ipCommands()) {
            List<String> del = ip.stream().map(w -> w.equals("add") ? "del"
                    : w.equals(CaptureRules.ROUTE_LOCALNET + "=1") ? CaptureRules.ROUTE_LOCALNET + "=0" : w).toList();
            CommandRunner.Result r = runner.run(del, "");
            if (r.exit() == 0) {
                logger.info("removed {}", String.join(" ", del));
            }
        }
        cleanup();
    }

    /**
     * Removes every {@code ISTIO_*} chain and every rule that jumps to one from the {@code nat} and {@code mangle}
     * tables, keeping all other rules ({@code iptables-save}, filtered, then {@code iptables-restore} of that table).
     */
    public void cleanup() throws IOException {
        for (String table : TABLES) {
            String saved = check(List.of("iptables-save", "-t", table), "").stdout();
            if (!saved.contains("ISTIO_")) {
                continue;
            }
            StringBuilder kept = new StringBuilder();
            for (String line : saved.split("\n")) {
                if (!line.contains("ISTIO_")) {
                    kept.append(line).append('\n');
                }
            }
            check(List.of("iptables-restore", "-T", table), kept.toString());
        }
    }

    private CommandRunner.Result check(List<String> argv, String stdin) throws IOException {
        CommandRunner.Result r = runner.run(argv, stdin);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", argv) + ": exit " + r.exit() + ": " + r.stderr().strip());
        }
        return r;
    }
}

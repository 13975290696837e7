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

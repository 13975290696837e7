package io.jmesh.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * What one in-process {@code jmesh} command did: its exit code and what it printed. {@link #jmesh} swaps
 * {@code System.out} and {@code System.err} while the command runs: not for tests running in parallel with others
 * that print.
 *
 * @param exit the exit code {@link Main#run} returned
 * @param out  what the command printed on standard output (UTF-8)
 * @param err  what it printed on standard error (UTF-8)
 */
public record CliRun(int exit, String out, String err) {

    /** Runs {@code jmesh args...} in this JVM ({@link Main#run}) and captures its output. */
    public static CliRun jmesh(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new CliRun(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}

package io.jmesh.cli;

import java.io.BufferedReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code jmesh} as a user runs it: a separate JVM on the test class path, for the command tests. */
final class JmeshProcess {

    private JmeshProcess() {}

    /** {@code java <heap> -cp <test class path> io.jmesh.cli.Main args}, not started. */
    static ProcessBuilder builder(String heap, String... args) {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                heap, "-cp", cp, "io.jmesh.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    /** Starts {@code jmesh args} with a 128 MiB heap, standard error merged into standard output. */
    static Process jmesh(String... args) throws Exception {
        return builder("-Xmx128m", args).redirectErrorStream(true).start();
    }

    /**
     * Reads lines (appended to {@code seen}) until one matches {@code p}; returns its first group. Fails with
     * what was seen when the output ends first.
     */
    static String await(BufferedReader r, Pattern p, StringBuilder seen) throws Exception {
        String line;
        while ((line = r.readLine()) != null) {
            seen.append(line).append('\n');
            Matcher m = p.matcher(line);
            if (m.find()) {
                return m.group(1);
            }
        }
        throw new AssertionError("no line matching " + p + " in:\n" + seen);
    }
}

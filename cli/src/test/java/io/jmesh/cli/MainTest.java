package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** The top-level {@code jmesh} command: exit codes a script can rely on. */
@Isolated
class MainTest {

    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void anUnknownCommandIsAOneLineErrorEvenWithHelp() {
        for (String[] args : new String[][] {{"nosuchverb"}, {"nosuchverb", "--help"}, {"nosuchverb", "-f", "x.yaml"}}) {
            Run r = run(args);
            assertEquals(1, r.exit, String.join(" ", args));
            assertEquals("Error: unknown command \"nosuchverb\" for \"jmesh\"; run 'jmesh --help' for usage\n", r.err);
            assertEquals("", r.out);
        }
    }

    @Test
    void helpOfAKnownCommandExitsZero() {
        Run r = run("version", "--help");
        assertEquals(0, r.exit);
        assertTrue(r.out.startsWith("Usage: jmesh version"), r.out);
        Run top = run("--help");
        assertEquals(0, top.exit);
        assertTrue(top.out.contains("Commands:"), top.out);
    }
}

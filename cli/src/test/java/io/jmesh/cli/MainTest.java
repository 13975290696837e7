package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** The top-level {@code jmesh} command: exit codes a script can rely on. */
@Isolated
class MainTest {

    @Test
    void anUnknownCommandIsAOneLineErrorEvenWithHelp() {
        for (String[] args : new String[][] {{"nosuchverb"}, {"nosuchverb", "--help"}, {"nosuchverb", "-f", "x.yaml"}}) {
            CliRun r = jmesh(args);
            assertEquals(1, r.exit(), String.join(" ", args));
            assertEquals("Error: unknown command \"nosuchverb\" for \"jmesh\"; run 'jmesh --help' for usage\n", r.err());
            assertEquals("", r.out());
        }
    }

    @Test
    void helpOfAKnownCommandExitsZero() {
        CliRun r = jmesh("version", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().startsWith("Usage: jmesh version"), r.out());
        CliRun top = jmesh("--help");
        assertEquals(0, top.exit());
        assertTrue(top.out().contains("Commands:"), top.out());
    }
}

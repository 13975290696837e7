package io.jmesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jmesh} command: starts every daemon and does what {@code istioctl} does. */
@Command(name = "jmesh",
        mixinStandardHelpOptions = true,
        versionProvider = VersionCommand.Provider.class,
        description = "A service mesh in Java: Envoy-compatible sidecar proxy, Istio-compatible control plane.",
        subcommands = {VersionCommand.class, ProxyCommand.class, DiscoveryCommand.class, AgentCommand.class, DemoCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}

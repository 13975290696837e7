package io.jmesh.cli;

import io.jmesh.cli.istioctl.AnalyzeCommand;
import io.jmesh.cli.istioctl.KubeInjectCommand;
import io.jmesh.cli.istioctl.BugReportCommand;
import io.jmesh.cli.istioctl.DashboardCommand;
import io.jmesh.cli.istioctl.DescribeCommand;
import io.jmesh.cli.istioctl.ProxyConfigCommand;
import io.jmesh.cli.istioctl.ProxyStatusCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code jmesh} command: starts every daemon and does what {@code istioctl} does. */
@Command(name = "jmesh",
        mixinStandardHelpOptions = true,
        versionProvider = VersionCommand.Provider.class,
        description = "A service mesh in Java: Envoy-compatible sidecar proxy, Istio-compatible control plane.",
        subcommands = {
                VersionCommand.class,
                ProxyCommand.class,
                DiscoveryCommand.class,
                AgentCommand.class,
                DemoCommand.class,
                ProxyStatusCommand.class,
                ProxyConfigCommand.class,
                AnalyzeCommand.class,
                BugReportCommand.class,
                DescribeCommand.class,
                DashboardCommand.class,
                RatelimitCommand.class,
                IptablesCommand.class,
                KubeInjectCommand.class,
                WaitCommand.class,
                io.jmesh.cli.manifest.ManifestCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the command line and returns the exit code (tests call this). A command that jmesh does not have is
     * an error whatever else the line holds ({@code jmesh bug-report --help} included), reported in one line as
     * istioctl reports it, with exit code 1, so a script can tell that the verb is missing.
     */
    public static int run(String... args) {
        Logging.configure();
        CommandLine commandLine = new CommandLine(new Main());
        if (args.length > 0 && !args[0].startsWith("-") && !commandLine.getSubcommands().containsKey(args[0])) {
            System.err.println("Error: unknown command \"" + args[0] + "\" for \"jmesh\"; run 'jmesh --help' for usage");
            return 1;
        }
        return commandLine.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}

package io.jmesh.cli.istioctl;

import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh dashboard}: istioctl's {@code dashboard} for jmesh's built-in one. discovery serves the page
 * itself on its monitoring port ({@code /dashboard}); this checks that it answers and prints its URL, as
 * {@code istioctl dashboard kiali} prints the one it opens.
 */
@Command(name = "dashboard", aliases = "d", mixinStandardHelpOptions = true,
        description = "Prints the URL of jmesh discovery's web dashboard (services graph, proxies' sync, config).")
public final class DashboardCommand implements Callable<Integer> {

    @Option(names = {"--discovery-address", "-d"}, defaultValue = "127.0.0.1:15014", paramLabel = "HOST:PORT",
            description = "jmesh discovery's monitoring address (default: ${DEFAULT-VALUE}).")
    String discovery;

    @Override
    public Integer call() {
        return Http.print(() -> {
            Http.getJson(discovery, "/debug/dashboardz", "jmesh discovery");
            return "http://" + discovery + "/dashboard" + System.lineSeparator();
        });
    }
}

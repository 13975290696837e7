package io.jmesh.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.server.ProxyServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh proxy --config FILE}: runs the sidecar proxy from an Envoy v3 bootstrap file. Exit code 1
 * with the file and field path for a bad config; SIGTERM drains for {@code --drain-time} and exits 0.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Run the sidecar proxy from an Envoy v3 bootstrap file (YAML or JSON).")
final class ProxyCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "Envoy v3 bootstrap (YAML or JSON).")
    Path config;

    @Option(names = "--concurrency", defaultValue = "0", paramLabel = "N",
            description = "Worker threads (default: number of CPUs).")
    int concurrency;

    @Option(names = "--drain-time", defaultValue = "5", paramLabel = "SECONDS",
            description = "How long in-flight requests may take to finish after SIGTERM (default: ${DEFAULT-VALUE}).")
    double drainSeconds;

    @Option(names = "--mode", defaultValue = "serve", paramLabel = "MODE",
            description = "serve (default) or validate (check the config and exit), as Envoy's --mode.")
    String mode;

    @Override
    public Integer call() throws Exception {
        Bootstrap bootstrap;
        try {
            bootstrap = BootstrapLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        if (mode.equals("validate")) {
            System.out.println("configuration '" + config + "' OK");
            return 0;
        }
        ProxyServer server;
        try {
            server = ProxyServer.start(bootstrap, concurrency);
        } catch (ConfigException e) {
            System.err.println("error: " + config + ": " + e.getMessage());
            return 1;
        }
        CountDownLatch stop = new CountDownLatch(1);
        long drainMillis = (long) (drainSeconds * 1000);
        Signals.onTerm(stop::countDown);
        server.onQuit(stop::countDown);
        server.listenerAddresses().forEach((name, addr) ->
                System.err.println("jmesh proxy: listener " + name + " on " + addr.getAddress().getHostAddress() + ":" + addr.getPort()));
        if (server.adminAddress() != null) {
            System.err.println("jmesh proxy: admin on " + server.adminAddress().getAddress().getHostAddress() + ":"
                    + server.adminAddress().getPort());
        }
        stop.await();
        server.drainAndClose(drainMillis);
        return 0;
    }
}

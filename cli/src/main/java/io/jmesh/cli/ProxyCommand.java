package io.jmesh.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh proxy --config FILE}: runs the sidecar proxy from an Envoy v3 bootstrap file (static, or
 * {@code dynamic_resources} over ADS); or {@code jmesh proxy --discovery-address HOST:PORT --node-id ID}: builds
 * such a bootstrap and follows {@code jmesh discovery}. With {@code --ca-address} the node agent runs in the same
 * process, serving the workload certificate over SDS on {@code --sds-socket}; with {@code --discovery-address} the
 * bootstrap gets Istio's {@code sds-grpc} cluster to it. Exit code 1 with the file and field path for a bad
 * config; SIGTERM drains for {@code --drain-time} and exits 0.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "Run the sidecar proxy from an Envoy v3 bootstrap file (YAML or JSON), or follow jmesh discovery.")
final class ProxyCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "Envoy v3 bootstrap (YAML or JSON).")
    Path config;

    @Option(names = "--discovery-address", paramLabel = "HOST:PORT",
            description = "Follow the ADS server at HOST:PORT (jmesh discovery's --grpc-addr) instead of --config.")
    String discoveryAddress;

    @Option(names = "--xds-root-ca", paramLabel = "FILE",
            description = "With --discovery-address HOST:15012: connect over TLS and verify discovery's certificate "
                    + "against this mesh root (PEM), as Istio's XDS_ROOT_CA; e.g. the CA's root-cert.pem.")
    Path xdsRootCa;

    @Option(names = "--node-id", paramLabel = "ID",
            description = "xDS node id: sidecar~IP~name.namespace~namespace.svc.cluster.local or router~...")
    String nodeId;

    @Option(names = "--node-metadata", paramLabel = "KEY=VALUE",
            description = "Node metadata (repeatable), e.g. CLUSTER_ID=Kubernetes. INTERCEPTION_MODE=REDIRECT or TPROXY: "
                    + "iptables captures the workload's traffic (jmesh iptables); listeners bind as in a pod.")
    java.util.Map<String, String> nodeMetadata = new java.util.LinkedHashMap<>();

    @Option(names = "--node-label", paramLabel = "KEY=VALUE",
            description = "Workload label sent as node metadata LABELS (repeatable), e.g. app=reviews.")
    java.util.Map<String, String> nodeLabels = new java.util.LinkedHashMap<>();

    @Option(names = "--admin-port", defaultValue = "15000", paramLabel = "PORT",
            description = "Admin port on 127.0.0.1 with --discovery-address (default: ${DEFAULT-VALUE}; 0 = any).")
    int adminPort;

    @Option(names = "--prometheus-port", defaultValue = "15090", paramLabel = "PORT",
            description = "With --discovery-address and a fixed --admin-port: Istio's prometheus_stats listener, "
                    + "/stats/prometheus of the admin on 0.0.0.0:PORT (default: ${DEFAULT-VALUE}; 0 = any; -1 = none).")
    int prometheusPort;

    @Option(names = "--status-port", defaultValue = "15020", paramLabel = "PORT",
            description = "Merged metrics (Istio's status port): /stats/prometheus of the proxy and of the application "
                    + "named by node metadata ANNOTATIONS prometheus.io/scrape|port|path, on 0.0.0.0:PORT "
                    + "(default: ${DEFAULT-VALUE}; 0 = any; -1 = none).")
    int statusPort;

    @Option(names = "--health-port", defaultValue = "15021", paramLabel = "PORT",
            description = "Istio's health port: GET /healthz/ready on 0.0.0.0:PORT, 200 once the proxy is live and "
                    + "has its first configuration, else 503 (default: ${DEFAULT-VALUE}; 0 = any; -1 = none).")
    int healthPort;

    @Option(names = "--max-series-per-metric", defaultValue = "10000", paramLabel = "N",
            description = "Cap on the label sets of each Istio metric; more count in istio_stats_dropped_series_total "
                    + "(default: ${DEFAULT-VALUE}).")
    int maxSeriesPerMetric;

    @Option(names = "--listener-address", paramLabel = "IP",
            description = "Bind LDS listeners on this IP instead of theirs (e.g. 127.0.0.1).")
    String listenerAddress;

    @Option(names = "--listener-port", paramLabel = "PORT=LOCAL",
            description = "Bind the LDS listener of PORT on LOCAL (0 = any free port); also binds bind_to_port:false "
                    + "listeners, which need iptables otherwise (repeatable), e.g. 9080=15080.")
    java.util.Map<Integer, Integer> listenerPorts = new java.util.LinkedHashMap<>();

    @Option(names = "--inbound-address", paramLabel = "IP",
            description = "Without iptables: bind each inbound port P of virtualInbound on IP:P (the workload's own IP, "
                    + "e.g. 127.0.0.21, the address its app registers), forwarding to the app on 127.0.0.1:P.")
    String inboundAddress;

    @Option(names = "--concurrency", defaultValue = "0", paramLabel = "N",
            description = "Worker threads (default: number of CPUs).")
    int concurrency;

    @Option(names = "--drain-time", defaultValue = "5", paramLabel = "SECONDS",
            description = "How long in-flight requests may take to finish after SIGTERM (default: ${DEFAULT-VALUE}).")
    double drainSeconds;

    @Option(names = "--drain-time-s", defaultValue = "45", paramLabel = "SECONDS",
            description = "Envoy's --drain-time-s: how long the connections of a listener updated or removed by LDS "
                    + "may take to finish before they are closed, busy or not (default: ${DEFAULT-VALUE}, Istio's "
                    + "drainDuration; Envoy's own default is 600).")
    double listenerDrainSeconds;

    @Option(names = "--drain-strategy", defaultValue = "immediate", paramLabel = "STRATEGY",
            description = "Envoy's --drain-strategy: immediate (every connection is asked to finish at once, as "
                    + "Istio runs Envoy; the default) or gradual (Envoy's default: more and more of them over the "
                    + "drain time).")
    String drainStrategy;

    @Option(names = "--mode", defaultValue = "serve", paramLabel = "MODE",
            description = "serve (default) or validate (check the config and exit), as Envoy's --mode.")
    String mode;

    /** The embedded node agent: started when {@code --ca-address} is given. */
    @picocli.CommandLine.Mixin
    AgentCommand.AgentFlags agentFlags = new AgentCommand.AgentFlags();

    @Option(names = "--sds-socket", paramLabel = "PATH", defaultValue = io.jmesh.security.agent.NodeAgent.DEFAULT_SDS_SOCKET,
            description = "With --ca-address: the embedded node agent's SDS socket, the sds-grpc cluster "
                    + "(default: ${DEFAULT-VALUE}).")
    Path sdsSocket;

    @Option(names = "--tls-engine", paramLabel = "ENGINE",
            description = "TLS engine: auto (OpenSSL when its native library loads, else the JDK), openssl or jdk; "
                    + "sets the system property jmesh.tls.engine.")
    String tlsEngine;

    @Override
    public Integer call() throws Exception {
        if (tlsEngine != null) {
            System.setProperty(io.jmesh.proxy.tls.TlsEngine.PROPERTY, tlsEngine);
        }
        Bootstrap bootstrap;
        io.jmesh.proxy.admin.AppProbers probers;
        try {
            probers = io.jmesh.proxy.admin.AppProbers.parse(System.getenv(io.jmesh.proxy.admin.AppProbers.ENV));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        if (!mode.equals("serve") && !mode.equals("validate")) {
            System.err.println("error: --mode: " + mode + " (expected: serve or validate)");
            return 2;
        }
        io.jmesh.proxy.network.DrainSettings drain;
        try {
            if (!(listenerDrainSeconds >= 0) || Double.isInfinite(listenerDrainSeconds)) {
                throw new IllegalArgumentException("--drain-time-s: " + listenerDrainSeconds
                        + " (expected: a number of seconds >= 0)");
            }
            drain = new io.jmesh.proxy.network.DrainSettings((long) (listenerDrainSeconds * 1000),
                    io.jmesh.proxy.network.DrainSettings.Strategy.parse(drainStrategy));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        if ((config == null) == (discoveryAddress == null)) {
            System.err.println("error: give either --config FILE or --discovery-address HOST:PORT");
            return 2;
        }
        if (discoveryAddress != null) {
            int colon = discoveryAddress.lastIndexOf(':');
            int port = -1;
            try {
                port = colon < 0 ? -1 : Integer.parseInt(discoveryAddress.substring(colon + 1));
            } catch (NumberFormatException ignored) {
                // reported below
            }
            if (port < 1 || port > 65535 || nodeId == null) {
                System.err.println("error: --discovery-address: " + discoveryAddress
                        + " (expected: HOST:PORT, with --node-id sidecar~IP~name.namespace~namespace.svc.cluster.local)");
                return 2;
            }
            String host = discoveryAddress.substring(0, colon).replace("[", "").replace("]", "");
            bootstrap = AdsBootstrap.forDiscovery(host, port, nodeId, nodeMetadata, nodeLabels, adminPort,
                    prometheusPort, xdsRootCa);
        } else {
            if (xdsRootCa != null) {
                System.err.println("error: --xds-root-ca: " + xdsRootCa + " (expected: with --discovery-address; "
                        + "a --config bootstrap sets trusted_ca in its xds cluster's transport_socket)");
                return 2;
            }
            try {
                bootstrap = BootstrapLoader.load(config);
            } catch (ConfigException e) {
                System.err.println("error: " + e.getMessage());
                return 1;
            }
        }
        if (maxSeriesPerMetric < 1) {
            System.err.println("error: --max-series-per-metric: " + maxSeriesPerMetric + " (expected: >= 1)");
            return 2;
        }
        if (mode.equals("validate")) {
            // As Envoy: the whole server config is built (not only parsed), so validate and serve agree.
            try {
                ProxyServer.validate(bootstrap, io.jmesh.proxy.extension.ExtensionRegistry.loadDefault());
            } catch (ConfigException e) {
                System.err.println("error: " + (config != null ? config : "bootstrap") + ": " + e.getMessage());
                return 1;
            }
            System.out.println("configuration '" + (config != null ? config : discoveryAddress) + "' OK");
            return 0;
        }
        io.jmesh.security.agent.NodeAgent agent = null;
        if (agentFlags.caAddress != null) {
            if (agentFlags.caRoot == null) {
                // istiod serves xDS and the CA on one port with one certificate: one mesh root checks both.
                agentFlags.caRoot = xdsRootCa;
            }
            try {
                agent = agentFlags.start(sdsSocket.toAbsolutePath(), namespaceOf(nodeId));
            } catch (IllegalArgumentException e) {
                System.err.println("error: " + e.getMessage());
                return 2;
            } catch (java.io.IOException e) {
                System.err.println("error: --sds-socket: " + sdsSocket + " (expected: a path where a Unix socket "
                        + "can be bound: " + e + ")");
                return 1;
            }
            System.err.println("jmesh proxy: node agent " + agent.options().spiffeId() + " SDS on unix:"
                    + sdsSocket.toAbsolutePath());
            if (discoveryAddress != null) {
                bootstrap = AdsBootstrap.withSdsCluster(bootstrap, sdsSocket.toAbsolutePath());
            }
        }
        ListenerBinding binding = new ListenerBinding(listenerAddress, listenerPorts, inboundAddress);
        String interception = nodeMetadata.getOrDefault("INTERCEPTION_MODE", "");
        if (interception.equals("REDIRECT") || interception.equals("TPROXY")) {
            // iptables (jmesh iptables) redirects the workload's traffic: listeners bind as in a pod.
            if (listenerAddress != null || !listenerPorts.isEmpty() || inboundAddress != null) {
                System.err.println("error: --node-metadata INTERCEPTION_MODE=" + interception + " (expected: without "
                        + "--listener-address, --listener-port and --inbound-address, which are for a proxy without "
                        + "iptables)");
                return 2;
            }
            binding = ListenerBinding.CAPTURED;
        } else if (!interception.isEmpty() && !interception.equals("NONE")) {
            System.err.println("error: --node-metadata INTERCEPTION_MODE=" + interception
                    + " (expected: REDIRECT, TPROXY or NONE)");
            return 2;
        }
        ProxyServer server;
        try {
            server = ProxyServer.start(bootstrap, concurrency, binding,
                    io.jmesh.proxy.extension.ExtensionRegistry.loadDefault(), drain);
        } catch (ConfigException e) {
            System.err.println("error: " + (config != null ? config : "bootstrap") + ": " + e.getMessage());
            if (agent != null) {
                agent.close();
            }
            return 1;
        }
        server.stats().tagged().maxSeriesPerMetric(maxSeriesPerMetric);
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
        io.netty.channel.nio.NioEventLoopGroup statusLoop = null;
        io.jmesh.proxy.admin.MergedMetricsServer status = null;
        io.jmesh.proxy.admin.MergedMetricsServer health = null;
        var endpoints = new io.jmesh.proxy.admin.MergedMetricsServer.StatusEndpoints(server::notReady, stop::countDown,
                probers);
        if (statusPort >= 0 || healthPort >= 0) {
            statusLoop = new io.netty.channel.nio.NioEventLoopGroup(1);
        }
        if (statusPort >= 0) {
            status = io.jmesh.proxy.admin.MergedMetricsServer.start(new java.net.InetSocketAddress("0.0.0.0", statusPort),
                    server.stats(), io.jmesh.proxy.admin.MergedMetricsServer.applicationMetrics(
                            bootstrap.getNode().getMetadata()), statusLoop, endpoints, false);
            System.err.println("jmesh proxy: merged metrics on 0.0.0.0:" + status.localAddress().getPort()
                    + "/stats/prometheus");
            System.err.println("jmesh proxy: status on 0.0.0.0:" + status.localAddress().getPort()
                    + " (/healthz/ready, /app-health/..., /quitquitquit); app probes: " + probers.paths());
        }
        if (healthPort >= 0) {
            try {
                health = io.jmesh.proxy.admin.MergedMetricsServer.start(
                        new java.net.InetSocketAddress("0.0.0.0", healthPort), server.stats(), null, statusLoop,
                        endpoints, true);
                System.err.println("jmesh proxy: health on 0.0.0.0:" + health.localAddress().getPort()
                        + "/healthz/ready");
            } catch (Exception e) {
                // Not fatal: the status port still answers /healthz/ready.
                System.err.println("jmesh proxy: warning: --health-port: " + healthPort + " cannot be bound (" + e
                        + "); no health port (expected: a free port, or -1)");
            }
        }
        stop.await();
        if (health != null) {
            health.close();
        }
        if (status != null) {
            status.close();
        }
        if (statusLoop != null) {
            statusLoop.shutdownGracefully();
        }
        server.drainAndClose(drainMillis);
        if (agent != null) {
            agent.close();
        }
        return 0;
    }

    /** The namespace of a {@code sidecar~IP~name.namespace~...} node id; {@code default} otherwise. */
    static String namespaceOf(String nodeId) {
        String[] parts = nodeId == null ? new String[0] : nodeId.split("~", -1);
        if (parts.length == 4 && parts[2].indexOf('.') > 0) {
            return parts[2].substring(parts[2].indexOf('.') + 1);
        }
        return "default";
    }
}

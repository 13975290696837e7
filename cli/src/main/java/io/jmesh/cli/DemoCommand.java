package io.jmesh.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.jmesh.cli.demo.SampleApp;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;
import io.netty.channel.EventLoopGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh demo}: the mesh on one machine with nothing to set up. Starts sample services
 * (productpage, reviews v1 and v2, ratings) and an ingress proxy whose Envoy bootstrap comes from
 * {@code examples/demo/gateway.yaml} with the services' ports filled in; prints what to curl; Ctrl-C
 * stops everything and exits 0.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the mesh on this machine: sample services behind a jmesh ingress proxy.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "0", description = "Gateway port (default: any free port).")
    int port;

    @Option(names = "--duration", defaultValue = "0", paramLabel = "SECONDS",
            description = "Stop by itself after this many seconds (default: run until Ctrl-C).")
    long durationSeconds;

    @Override
    public Integer call() throws Exception {
        EventLoopGroup group = SampleApp.newGroup();
        List<SampleApp> apps = new ArrayList<>();
        ProxyServer gateway = null;
        try {
            SampleApp productpage = start(apps, "productpage", "v1", group);
            SampleApp reviewsV1 = start(apps, "reviews", "v1", group);
            SampleApp reviewsV2 = start(apps, "reviews", "v2", group);
            SampleApp ratings = start(apps, "ratings", "v1", group);
            String template = template();
            String yaml = template
                    .replace("${GATEWAY_PORT}", Integer.toString(port))
                    .replace("${PRODUCTPAGE_PORT}", Integer.toString(productpage.port()))
                    .replace("${REVIEWS_V1_PORT}", Integer.toString(reviewsV1.port()))
                    .replace("${REVIEWS_V2_PORT}", Integer.toString(reviewsV2.port()))
                    .replace("${RATINGS_PORT}", Integer.toString(ratings.port()));
            gateway = ProxyServer.start(BootstrapLoader.parse(yaml), 1);
            var addr = gateway.listenerAddresses().values().iterator().next();
            String base = "http://127.0.0.1:" + addr.getPort();
            System.out.println("jmesh demo is running.");
            System.out.println();
            System.out.println("  gateway:   " + base + "/productpage");
            System.out.println("  admin:     http://127.0.0.1:" + gateway.adminAddress().getPort() + "/stats/prometheus");
            System.out.println();
            System.out.println("Try:");
            System.out.println("  curl -s " + base + "/productpage");
            System.out.println("  for i in $(seq 10); do curl -s " + base + "/reviews; done   # 80% v1, 20% v2");
            System.out.println("  curl -s -H 'end-user: jason' " + base + "/reviews            # always v2");
            System.out.println("  curl -s " + base + "/ratings");
            System.out.println();
            System.out.println("Routes and weights: examples/demo/gateway.yaml (an Envoy bootstrap). Ctrl-C stops everything.");
            System.out.flush();
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerm(stop::countDown);
            if (durationSeconds > 0) {
                stop.await(durationSeconds, java.util.concurrent.TimeUnit.SECONDS);
            } else {
                stop.await();
            }
            return 0;
        } finally {
            if (gateway != null) {
                gateway.drainAndClose(1000);
            }
            apps.forEach(SampleApp::close);
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static SampleApp start(List<SampleApp> apps, String service, String version, EventLoopGroup group)
            throws InterruptedException {
        SampleApp app = SampleApp.start(service, version, group);
        apps.add(app);
        return app;
    }

    private static String template() throws IOException {
        try (InputStream in = DemoCommand.class.getResourceAsStream("demo/gateway.yaml")) {
            if (in == null) {
                throw new IOException("demo/gateway.yaml missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}

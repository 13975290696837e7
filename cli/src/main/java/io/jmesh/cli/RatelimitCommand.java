package io.jmesh.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.jmesh.ratelimit.RateLimitConfig;
import io.jmesh.ratelimit.RateLimitServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh ratelimit --config FILE|DIR}: a global rate limit service ({@code envoy.service.ratelimit.v3}) reading
 * envoyproxy/ratelimit's YAML unchanged, counting in memory or, with {@code --redis HOST:PORT}, in Redis shared by
 * every replica. The config is watched and reloaded; a bad change is logged and the last good config keeps serving.
 * Exit code 1 with the reason when the config or the address is unusable at start; SIGTERM stops it with 0.
 */
@Command(name = "ratelimit", mixinStandardHelpOptions = true,
        description = "Run a global rate limit service (Envoy's RateLimitService) from envoyproxy/ratelimit YAML.")
final class RatelimitCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, paramLabel = "FILE|DIR",
            description = "envoyproxy/ratelimit YAML: one file, or a directory of .yaml files (watched).")
    Path config;

    @Option(names = "--grpc-addr", defaultValue = "127.0.0.1:8081", paramLabel = "HOST:PORT",
            description = "gRPC address (default: ${DEFAULT-VALUE}, envoyproxy/ratelimit's port; port 0 = any free port).")
    String grpcAddress;

    @Option(names = "--redis", paramLabel = "HOST:PORT",
            description = "Count in this Redis (INCRBY + EXPIRE, as envoyproxy/ratelimit); default: in memory.")
    String redis;

    @Option(names = "--response-headers",
            description = "Return RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset for the proxy to add"
                    + " (envoyproxy/ratelimit's LIMIT_RESPONSE_HEADERS_ENABLED).")
    boolean responseHeaders;

    @Option(names = "--duration", defaultValue = "0", paramLabel = "SECONDS", hidden = true,
            description = "Stop by itself after this many seconds (tests).")
    long durationSeconds;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress addr;
        try {
            addr = DiscoveryCommand.parse("--grpc-addr", grpcAddress);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        RateLimitServer server;
        try {
            server = RateLimitServer.start(RateLimitServer.Options.of(config).address(addr.getHostString())
                    .port(addr.getPort()).redis(redis).responseHeaders(responseHeaders));
        } catch (RateLimitConfig.ConfigError e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            System.err.println("error: " + addr.getHostString() + ":" + addr.getPort() + ": " + e.getMessage());
            return 1;
        }
        try (server) {
            System.err.println("jmesh ratelimit: RateLimitService on " + addr.getHostString() + ":" + server.port()
                    + ", domains " + server.config().domains() + ", counters "
                    + (redis == null ? "in memory" : "in Redis at " + redis) + ", config from " + config);
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerm(stop::countDown);
            if (durationSeconds > 0) {
                stop.await(durationSeconds, java.util.concurrent.TimeUnit.SECONDS);
            } else {
                stop.await();
            }
        }
        return 0;
    }
}

package io.jmesh.proxy.admin;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.StatsRenderer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * Istio's merged metrics endpoint (pilot-agent's status port, 15020): {@code GET /stats/prometheus} answers the
 * proxy's own {@code /stats/prometheus} followed by the application's metrics when its node metadata
 * {@code ANNOTATIONS} say {@code prometheus.io/scrape: "true"} ({@code prometheus.io/port}, default 80;
 * {@code prometheus.io/path}, default {@code /metrics}; scraped on 127.0.0.1), so that one Prometheus scrape
 * target gets both. An application family whose name the proxy already exports is left out (a Prometheus text
 * may declare a family once). When the application cannot be scraped (an error, a non-200 answer, no answer
 * within 5 s) the proxy's part is still served and {@code istio_agent_scrape_failures_total{type="application"}}
 * counts the failure.
 *
 * <p>With {@link StatusEndpoints} it also serves pilot-agent's other status endpoints: {@code GET /healthz/ready}
 * (200 when {@link StatusEndpoints#notReady} answers null, else 503 with the reason),
 * {@code GET /app-health/<container>/livez|readyz|startupz} (the application's original probe, see
 * {@link AppProbers}) and {@code POST /quitquitquit} (runs {@link StatusEndpoints#quit}: the proxy drains and exits).
 * Started with {@code healthOnly} (Istio's port 15021) it answers {@code /healthz/ready} alone.
 *
 * <p>The application is fetched asynchronously ({@link HttpClient#sendAsync}); no event loop blocks.
 */
public final class MergedMetricsServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(MergedMetricsServer.class);

    /** The scrape failure counter family. */
    public static final String SCRAPE_FAILURES = "istio_agent_scrape_failures_total";

    private static final Duration APP_TIMEOUT = Duration.ofSeconds(5);

    /**
     * pilot-agent's status endpoints besides the metrics.
     *
     * @param notReady null when the proxy is ready (its first configuration applied, listeners up), else why not
     * @param quit     what {@code POST /quitquitquit} runs
     * @param probers  the application's original probes
     */
    public record StatusEndpoints(java.util.function.Supplier<String> notReady, Runnable quit, AppProbers probers) {
    }

    private final Channel channel;

    private MergedMetricsServer(Channel channel) {
        this.channel = channel;
    }

    /**
     * The application's metrics URL by Istio's annotations in the node metadata {@code ANNOTATIONS}, or null when
     * {@code prometheus.io/scrape} is not {@code "true"}.
     */
    public static URI applicationMetrics(Struct nodeMetadata) {
        Value a = nodeMetadata.getFieldsMap().get("ANNOTATIONS");
        if (a == null) {
            return null;
        }
        Map<String, Value> ann = a.getStructValue().getFieldsMap();
        if (!"true".equals(string(ann, "prometheus.io/scrape"))) {
            return null;
        }
        String port = string(ann, "prometheus.io/port");
        String path = string(ann, "prometheus.io/path");
        if (port.isEmpty()) {
            port = "80";
        }
        if (path.isEmpty()) {
            path = "/metrics";
        } else if (!path.startsWith("/")) {
            path = "/" + path;
        }
        return URI.create("http://127.0.0.1:" + Integer.parseInt(port) + path);
    }

    private static String string(Map<String, Value> m, String k) {
        Value v = m.get(k);
        return v == null ? "" : v.getStringValue();
    }

    /**
     * Binds {@code address} (port 0: any free port, see {@link #localAddress()}) and serves the proxy's
     * {@code stats} merged with {@code application} (null: the proxy's alone) on {@code group}.
     */
    public static MergedMetricsServer start(InetSocketAddress address, Stats stats, URI application,
                                            EventLoopGroup group) throws InterruptedException {
        return start(address, stats, application, group, null, false);
    }

    /**
     * As {@link #start(InetSocketAddress, Stats, URI, EventLoopGroup)} with pilot-agent's {@code status} endpoints
     * (null: none); {@code healthOnly} serves {@code /healthz/ready} alone (the 15021 health port).
     */
    public static MergedMetricsServer start(InetSocketAddress address, Stats stats, URI application,
                                            EventLoopGroup group, StatusEndpoints status, boolean healthOnly)
            throws InterruptedException {
        HttpClient client = application == null ? null
                : HttpClient.newBuilder().connectTimeout(APP_TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
        Counter failures = stats.tagged().counterFamily(SCRAPE_FAILURES, List.of("type"))
                .counter(new String[] {"application"});
        Channel ch = new ServerBootstrap()
                .group(group)
                .channel(group instanceof EpollEventLoopGroup ? EpollServerSocketChannel.class
                        : NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new HttpServerCodec()).addLast(new HttpObjectAggregator(64 * 1024))
                                .addLast(new Handler(stats, application, client, failures, status,
                                        healthOnly));
                    }
                })
                .bind(address).sync().channel();
        if (healthOnly) {
            logger.info("{} health (/healthz/ready) listening", ch.localAddress());
        } else {
            logger.info("{} merged metrics (/stats/prometheus) listening; application metrics: {}", ch.localAddress(),
                    application == null ? "none" : application);
        }
        return new MergedMetricsServer(ch);
    }

    /** The bound address. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /**
     * The proxy's text followed by the application's, without the application's families the proxy declares and
     * with a newline between them.
     */
    static String merge(String proxy, String app) {
        Set<String> taken = new HashSet<>();
        for (String line : proxy.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                taken.add(line.split(" ")[2]);
            }
        }
        StringBuilder out = new StringBuilder(proxy.length() + app.length() + 1).append(proxy);
        if (out.length() > 0 && out.charAt(out.length() - 1) != '\n') {
            out.append('\n');
        }
        boolean skipping = false;
        for (String line : app.split("\n")) {
            if (line.startsWith("# TYPE ") || line.startsWith("# HELP ")) {
                String[] parts = line.split(" ");
                skipping = parts.length > 2 && taken.contains(parts[2]);
            } else if (!line.startsWith("#") && !line.isEmpty()) {
                String name = line.split("[{ ]", 2)[0];
                String family = name.replaceAll("_(bucket|sum|count)$", "");
                skipping = taken.contains(name) || taken.contains(family);
            }
            if (!skipping && !line.isEmpty()) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Stats stats;
        private final URI application;
        private final HttpClient client;
        private final Counter failures;
        private final StatusEndpoints status;
        private final boolean healthOnly;

        Handler(Stats stats, URI application, HttpClient client, Counter failures, StatusEndpoints status,
                boolean healthOnly) {
            this.stats = stats;
            this.application = application;
            this.client = client;
            this.failures = failures;
            this.status = status;
            this.healthOnly = healthOnly;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            String path = new QueryStringDecoder(req.uri()).path();
            if (status != null && path.equals("/healthz/ready")) {
                String why = status.notReady().get();
                respond(ctx, keepAlive, why == null ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                        why == null ? "" : why + "\n");
                return;
            }
            if (healthOnly) {
                respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "not found: " + path + "\n");
                return;
            }
            if (status != null && path.equals("/quitquitquit")) {
                if (!req.method().equals(io.netty.handler.codec.http.HttpMethod.POST)) {
                    respond(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed\n");
                    return;
                }
                respond(ctx, false, HttpResponseStatus.OK, "OK\n");
                logger.info("/quitquitquit: the proxy drains and exits");
                status.quit().run();
                return;
            }
            if (status != null && path.startsWith("/app-health/")) {
                if (!status.probers().has(path)) {
                    respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "no probe: " + path + "\n");
                    return;
                }
                status.probers().run(path, ctx.channel().eventLoop()).whenComplete((code, err) -> {
                    int c = err != null ? 500 : code;
                    ctx.channel().eventLoop().execute(() -> respond(ctx, keepAlive, HttpResponseStatus.valueOf(c), ""));
                });
                return;
            }
            if (!path.equals("/stats/prometheus")) {
                respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "not found: " + path + "\n");
                return;
            }
            if (application == null) {
                respond(ctx, keepAlive, HttpResponseStatus.OK, StatsRenderer.prometheus(stats));
                return;
            }
            HttpRequest get = HttpRequest.newBuilder(application).timeout(APP_TIMEOUT).GET().build();
            client.sendAsync(get, HttpResponse.BodyHandlers.ofString()).whenComplete((resp, err) -> {
                String app = "";
                if (err != null || resp.statusCode() != 200) {
                    failures.inc();
                    logger.debug("scraping {} failed: {}", application, err != null ? err.toString()
                            : "status " + resp.statusCode());
                } else {
                    app = resp.body();
                }
                String body = merge(StatsRenderer.prometheus(stats), app);
                ctx.channel().eventLoop().execute(() -> respond(ctx, keepAlive, HttpResponseStatus.OK, body));
            });
        }

        private static void respond(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status,
                                    String body) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
            HttpUtil.setContentLength(r, r.content().readableBytes());
            HttpUtil.setKeepAlive(r, keepAlive);
            var f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            logger.debug("{} merged metrics: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }
}

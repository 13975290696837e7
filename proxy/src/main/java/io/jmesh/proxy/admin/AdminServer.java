package io.jmesh.proxy.admin;

import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.CommandLineOptions;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.ServerInfo;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.StatsRenderer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
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
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's admin interface over HTTP/1.1, backed by an {@link AdminContext}. See
 * <a href="https://www.envoyproxy.io/docs/envoy/latest/operations/admin">Envoy administration interface</a>.
 *
 * <p>Endpoints (matched on the path without the query string, as Envoy does):
 * <ul>
 *   <li>{@code GET /ready}: 200 {@code LIVE\n} when live, else 503 with the state.</li>
 *   <li>{@code GET /server_info}: {@code envoy.admin.v3.ServerInfo} as JSON.</li>
 *   <li>{@code GET /config_dump}: the context's {@code ConfigDump} as JSON, with a type registry that
 *       resolves the {@code Any}s of config dumps and the extensions the proxy uses.</li>
 *   <li>{@code GET /clusters}: the context's text.</li>
 *   <li>{@code GET /stats}: {@code name: value} lines; {@code ?filter=<regex>} keeps names the regex finds,
 *       {@code ?format=json} answers {@code {"stats":[{"name":..,"value":..}]}},
 *       {@code ?format=prometheus} is {@code /stats/prometheus}.</li>
 *   <li>{@code GET /stats/prometheus}: Prometheus text format (also {@code ?filter=}).</li>
 *   <li>{@code POST /logging}: lists the loggers with their levels ({@code active loggers:}); with
 *       {@code ?level=L} sets all, {@code ?NAME=L} one, {@code ?paths=NAME:L,NAME:L} several ({@link LogLevels}).
 *       A bad name or level answers 400 with the error and the usage, and changes nothing.</li>
 *   <li>{@code POST /healthcheck/fail}, {@code POST /healthcheck/ok}, {@code POST /quitquitquit}: answer
 *       {@code OK\n}; any other method gets 405 {@code Method GET not allowed, POST required.}</li>
 *   <li>anything else: 404 {@code invalid path. admin commands are:} followed by the endpoint list.</li>
 * </ul>
 *
 * <p>Connections are served on the given event loop group; handlers only read snapshots from the context.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(AdminServer.class);

    /** Largest request body accepted; admin requests have no meaningful body. */
    static final int MAX_CONTENT_LENGTH = 64 * 1024;

    private static final JsonFormat.TypeRegistry TYPE_REGISTRY = io.jmesh.proxy.config.EnvoyTypes.REGISTRY;
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer()
            .usingTypeRegistry(TYPE_REGISTRY)
            .preservingProtoFieldNames();

    private static final Map<String, Endpoint> ENDPOINTS = endpoints();

    private final Channel channel;

    private AdminServer(Channel channel) {
        this.channel = channel;
    }

    /**
     * Binds the admin server to {@code address} (port 0 picks a free port, see {@link #localAddress()}) and
     * serves on {@code group}, which must be an epoll or NIO group.
     *
     * @throws InterruptedException if interrupted while binding
     */
    public static AdminServer start(InetSocketAddress address, AdminContext context, EventLoopGroup group)
            throws InterruptedException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(group instanceof EpollEventLoopGroup
                        ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline()
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpObjectAggregator(MAX_CONTENT_LENGTH))
                                .addLast(new AdminHandler(context));
                    }
                });
        Channel channel = bootstrap.bind(address).sync().channel();
        logger.info("{} admin server listening", channel.localAddress());
        return new AdminServer(channel);
    }

    /** The bound address. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Stops listening; open connections finish their current request. Idempotent. */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }


    private interface Handler {
        FullHttpResponse handle(AdminContext context, QueryStringDecoder query) throws Exception;
    }

    private static final class Endpoint {
        final String help;
        final boolean mutates;
        final Handler handler;

        Endpoint(String help, boolean mutates, Handler handler) {
            this.help = help;
            this.mutates = mutates;
            this.handler = handler;
        }
    }

    private static Map<String, Endpoint> endpoints() {
        Map<String, Endpoint> m = new LinkedHashMap<>();
        m.put("/clusters", new Endpoint("upstream cluster status", false,
                (c, q) -> text(HttpResponseStatus.OK, c.clustersText())));
        m.put("/config_dump", new Endpoint("dump current Envoy configs", false,
                (c, q) -> json(PRINTER.print(c.configDump()))));
        m.put("/healthcheck/fail", new Endpoint("cause the server to fail health checks", true, (c, q) -> {
            c.setHealthCheckFailed(true);
            return text(HttpResponseStatus.OK, "OK\n");
        }));
        m.put("/healthcheck/ok", new Endpoint("cause the server to pass health checks", true, (c, q) -> {
            c.setHealthCheckFailed(false);
            return text(HttpResponseStatus.OK, "OK\n");
        }));
        m.put("/logging", new Endpoint("query/change logging levels", true, AdminServer::logging));
        m.put("/quitquitquit", new Endpoint("exit the server", true, (c, q) -> {
            c.quit();
            return text(HttpResponseStatus.OK, "OK\n");
        }));
        m.put("/ready", new Endpoint("print server state, return 200 if LIVE, otherwise return 503", false,
                (c, q) -> {
                    String state = c.serverState();
                    return text("LIVE".equals(state) ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                            state + "\n");
                }));
        m.put("/server_info", new Endpoint("print server version/status information", false,
                (c, q) -> json(PRINTER.print(serverInfo(c)))));
        m.put("/stats", new Endpoint("print server stats", false, AdminServer::stats));
        m.put("/stats/prometheus", new Endpoint("print server stats in prometheus format", false,
                AdminServer::prometheus));
        return Map.copyOf(m);
    }

    private static FullHttpResponse logging(AdminContext c, QueryStringDecoder q) {
        Map<String, List<String>> params = q.parameters();
        StringBuilder sb = new StringBuilder();
        HttpResponseStatus status = HttpResponseStatus.OK;
        if (!params.isEmpty()) {
            try {
                changeLogLevels(params);
            } catch (IllegalArgumentException e) {
                status = HttpResponseStatus.BAD_REQUEST;
                sb.append("error: ").append(e.getMessage()).append("\n\n")
                        .append("usage: /logging?<name>=<level> (change single level)\n")
                        .append("usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n")
                        .append("usage: /logging?level=<level> (change all levels)\n")
                        .append("levels: ").append(String.join(" ", LogLevels.LEVELS)).append(" \n");
            }
        }
        sb.append("active loggers:\n");
        LogLevels.current().forEach((name, level) -> sb.append("  ").append(name).append(": ").append(level)
                .append('\n'));
        sb.append('\n');
        return text(status, sb.toString());
    }

    /** Envoy's {@code changeLogLevel}: exactly one parameter, {@code level}, {@code paths} or a logger name. */
    private static void changeLogLevels(Map<String, List<String>> params) {
        if (params.size() != 1 || params.values().iterator().next().size() != 1) {
            throw new IllegalArgumentException("invalid number of parameters");
        }
        Map.Entry<String, List<String>> p = params.entrySet().iterator().next();
        String value = p.getValue().get(0);
        if (p.getKey().equals("level")) {
            LogLevels.setAll(value);
            return;
        }
        Map<String, String> changes = new LinkedHashMap<>();
        if (p.getKey().equals("paths")) {
            for (String pair : value.split(",")) {
                if (pair.isBlank()) {
                    continue;
                }
                int colon = pair.indexOf(':');
                String name = colon < 0 ? pair.strip() : pair.substring(0, colon).strip();
                String level = colon < 0 ? "" : pair.substring(colon + 1).strip();
                if (name.isEmpty() || level.isEmpty()) {
                    throw new IllegalArgumentException("empty logger name or empty logger level");
                }
                changes.put(name, level);
            }
        } else {
            changes.put(p.getKey(), value);
        }
        LogLevels.set(changes);
    }

    private static ServerInfo serverInfo(AdminContext c) {
        ServerInfo.State state;
        try {
            state = ServerInfo.State.valueOf(c.serverState());
        } catch (IllegalArgumentException e) {
            // Not one of Envoy's states: report the server as still starting.
            state = ServerInfo.State.INITIALIZING;
        }
        Duration uptime = Duration.newBuilder().setSeconds(c.uptimeSeconds()).build();
        return ServerInfo.newBuilder()
                .setVersion(c.version())
                .setState(state)
                .setUptimeCurrentEpoch(uptime)
                .setUptimeAllEpochs(uptime)
                .setHotRestartVersion("disabled")
                .setCommandLineOptions(CommandLineOptions.newBuilder()
                        .setRestartEpoch(0)
                        .setMode(CommandLineOptions.Mode.Serve)
                        .build())
                .build();
    }

    private static FullHttpResponse stats(AdminContext c, QueryStringDecoder q) throws Exception {
        Stats stats = c.stats();
        Pattern filter = filter(q);
        if (filter == BAD_FILTER) {
            return text(HttpResponseStatus.BAD_REQUEST, "Invalid re2 regex");
        }
        SortedMap<String, Long> all = new TreeMap<>(stats.counterValues());
        all.putAll(stats.gaugeValues());
        if (filter != null) {
            all.keySet().removeIf(name -> !filter.matcher(name).find());
        }
        String format = first(q, "format");
        if ("prometheus".equals(format)) {
            return prometheus(c, q);
        }
        if ("json".equals(format)) {
            StringBuilder sb = new StringBuilder("{\"stats\":[");
            boolean firstStat = true;
            for (Map.Entry<String, Long> e : all.entrySet()) {
                sb.append(firstStat ? "" : ",").append("{\"name\":\"").append(jsonEscape(e.getKey()))
                        .append("\",\"value\":").append(e.getValue()).append('}');
                firstStat = false;
            }
            return json(sb.append("]}").toString());
        }
        if (format != null && !format.equals("text")) {
            return text(HttpResponseStatus.NOT_FOUND, "usage: /stats?format=(json|prometheus|text)\n");
        }
        StringBuilder sb = new StringBuilder();
        all.forEach((k, v) -> sb.append(k).append(": ").append(v).append('\n'));
        return text(HttpResponseStatus.OK, sb.toString());
    }

    private static FullHttpResponse prometheus(AdminContext c, QueryStringDecoder q) {
        Pattern filter = filter(q);
        if (filter == BAD_FILTER) {
            return text(HttpResponseStatus.BAD_REQUEST, "Invalid re2 regex");
        }
        Stats stats = c.stats();
        if (filter != null) {
            Stats filtered = new Stats();
            stats.counterValues().forEach((k, v) -> {
                if (filter.matcher(k).find()) {
                    filtered.counter(k).add(v);
                }
            });
            stats.gaugeValues().forEach((k, v) -> {
                if (filter.matcher(k).find()) {
                    filtered.gauge(k).set(v);
                }
            });
            stats = filtered;
        }
        FullHttpResponse response = text(HttpResponseStatus.OK, StatsRenderer.prometheus(stats));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=UTF-8");
        return response;
    }

    private static final Pattern BAD_FILTER = Pattern.compile("");

    private static Pattern filter(QueryStringDecoder q) {
        String regex = first(q, "filter");
        if (regex == null || regex.isEmpty()) {
            return null;
        }
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            return BAD_FILTER;
        }
    }

    private static String first(QueryStringDecoder q, String name) {
        List<String> values = q.parameters().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static String jsonEscape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String help() {
        StringBuilder sb = new StringBuilder("invalid path. admin commands are:\n");
        new TreeMap<>(ENDPOINTS).forEach((path, e) -> sb.append("  ").append(path)
                .append(e.mutates ? " (POST)" : "").append(": ").append(e.help).append('\n'));
        return sb.toString();
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        return response(status, body, "text/plain; charset=UTF-8");
    }

    private static FullHttpResponse json(String body) {
        return response(HttpResponseStatus.OK, body, "application/json");
    }

    private static FullHttpResponse response(HttpResponseStatus status, String body, String contentType) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache, max-age=0")
                .set("x-content-type-options", "nosniff")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return response;
    }

    /** Serves one admin connection; runs on its event loop. */
    private static final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final AdminContext context;

        AdminHandler(AdminContext context) {
            this.context = context;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            FullHttpResponse response;
            if (!request.decoderResult().isSuccess()) {
                response = text(HttpResponseStatus.BAD_REQUEST, "bad request\n");
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            QueryStringDecoder query = new QueryStringDecoder(request.uri());
            Endpoint endpoint = ENDPOINTS.get(query.path());
            if (endpoint == null) {
                response = text(HttpResponseStatus.NOT_FOUND, help());
            } else if (endpoint.mutates && !HttpMethod.POST.equals(request.method())) {
                logger.error("admin path \"{}\" mutates state, method={} rather than POST", query.path(),
                        request.method());
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "Method " + request.method() + " not allowed, POST required.");
            } else {
                try {
                    response = endpoint.handler.handle(context, query);
                } catch (InvalidProtocolBufferException e) {
                    logger.warn("{} admin {} cannot be printed as JSON: {}", ctx.channel(), query.path(),
                            e.toString());
                    response = text(HttpResponseStatus.INTERNAL_SERVER_ERROR, e.getMessage() + "\n");
                } catch (Exception e) {
                    logger.warn("{} admin {} failed", ctx.channel(), query.path(), e);
                    response = text(HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(e) + "\n");
                }
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            if (keepAlive) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            logger.debug("{} admin connection error: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }
}

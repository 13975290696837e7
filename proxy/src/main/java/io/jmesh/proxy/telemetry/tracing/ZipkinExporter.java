package io.jmesh.proxy.telemetry.tracing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Promise;

/**
 * Sends spans to a Zipkin collector as Zipkin v2 JSON ({@code POST collector_endpoint}, {@code application/json},
 * Envoy's {@code HTTP_JSON}) to a host that {@code collector_cluster}'s load balancer picks per report.
 *
 * <p>Reports go over one kept-alive plaintext HTTP/1.1 connection per collector address, owned by one shared Netty
 * event loop ({@code jmesh-tracing-io}, epoll where available); the JSON is encoded straight into the request's
 * buffer. The tracing thread hands a report to that loop and waits for its answer (at most
 * {@link #CONNECT_TIMEOUT_MS} to connect, {@link #REPORT_TIMEOUT_MS} for the answer). A connection that fails, times
 * out or is closed by the collector is dropped; the next report opens a new one.
 *
 * <p>A report is counted in {@code tracing.zipkin.reports_sent} (2xx), {@code reports_failed} (any other answer or
 * an I/O error) or {@code reports_skipped_no_cluster}. Thread-safe. (Reports used to go through the JDK's
 * {@code java.net.http.HttpClient}: ~3.5 ms of CPU per report in its selector and worker threads; see
 * docs/performance.md, telemetry section.)
 */
final class ZipkinExporter extends BatchingExporter {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(ZipkinExporter.class);
    private static final JsonFactory JSON = new JsonFactory();
    /** Connecting to a collector may take this long. */
    static final int CONNECT_TIMEOUT_MS = 2000;
    /** A report's answer may take this long; then the connection is closed and the report counted as failed. */
    static final long REPORT_TIMEOUT_MS = 5000;
    /** The largest collector answer read (its body is discarded). */
    private static final int MAX_ANSWER_HEADER = 16 * 1024;

    /** The proxy's transport (epoll where available), so that the code a report runs is the proxy's hot code. */
    private static final EventLoopGroup IO = Transports.newGroup(1, "jmesh-tracing-io");
    /** One kept-alive connection per collector address; used by the tracing thread only, one report at a time. */
    private static final Map<InetSocketAddress, Channel> CONNECTIONS = new ConcurrentHashMap<>();

    private final String endpoint;
    private final String serviceName;

    ZipkinExporter(Supplier<ClusterManager> clusters, String cluster, String endpoint, String serviceName, Stats stats) {
        super(clusters, cluster, stats, "zipkin");
        this.endpoint = endpoint.startsWith("/") ? endpoint : "/" + endpoint;
        this.serviceName = serviceName;
    }

    @Override
    void send(List<Span> batch, Host host) {
        InetSocketAddress address = host.address();
        Channel ch;
        try {
            ch = connection(address);
        } catch (IOException e) {
            reportsFailed.inc();
            logger.debug("{}: connecting to {} failed: {}", this, host.addressString(), e.toString());
            return;
        }
        ByteBuf body = ch.alloc().buffer(256 * batch.size());
        try {
            writeJson(batch, serviceName, body);
        } catch (RuntimeException e) {
            body.release();
            throw e;
        }
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, endpoint, body);
        req.headers().set(HttpHeaderNames.HOST, host.addressString())
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        AnswerHandler answers = ch.pipeline().get(AnswerHandler.class);
        if (answers == null) { // closed (and its pipeline emptied) since connection() returned it
            req.release();
            reportsFailed.inc();
            return;
        }
        Promise<Integer> answer = ch.eventLoop().newPromise();
        ch.eventLoop().execute(() -> answers.send(ch, req, answer));
        try {
            if (!answer.await(REPORT_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                ch.close();
                reportsFailed.inc();
                logger.debug("{}: {} did not answer in {} ms", this, host.addressString(), REPORT_TIMEOUT_MS);
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ch.close();
            reportsFailed.inc();
            return;
        }
        if (!answer.isSuccess()) {
            reportsFailed.inc();
            logger.debug("{}: sending to {} failed: {}", this, host.addressString(), answer.cause().toString());
            return;
        }
        int status = answer.getNow();
        if (status / 100 == 2) {
            reportsSent.inc();
            spansSent.add(batch.size());
        } else {
            reportsFailed.inc();
            logger.debug("{}: {} answered {}", this, host.addressString(), status);
        }
    }

    /** The open connection to {@code address}, or a new one; runs on the tracing thread (may block to connect). */
    private static Channel connection(InetSocketAddress address) throws IOException {
        Channel ch = CONNECTIONS.get(address);
        if (ch != null && ch.isActive()) {
            return ch;
        }
        ChannelFuture f = new Bootstrap().group(IO).channel(Transports.socketChannel(IO))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(new HttpClientCodec(4096, MAX_ANSWER_HEADER, 8192), new AnswerHandler());
                    }
                })
                .connect(address);
        f.awaitUninterruptibly(CONNECT_TIMEOUT_MS + 1000L);
        if (!f.isSuccess()) {
            f.channel().close();
            Throwable cause = f.cause();
            throw new IOException(cause == null ? "connect timed out" : cause.toString(), cause);
        }
        ch = f.channel();
        Channel opened = ch;
        CONNECTIONS.put(address, ch);
        ch.closeFuture().addListener(x -> CONNECTIONS.remove(address, opened));
        return ch;
    }

    /**
     * Completes the report in flight with the status of the collector's answer once the answer has been read
     * whole, or fails it when the connection ends first. One report at a time; runs on the connection's event loop.
     */
    private static final class AnswerHandler extends SimpleChannelInboundHandler<HttpObject> {

        private Promise<Integer> pending;
        private int status;
        private boolean keepAlive;

        void send(Channel ch, FullHttpRequest req, Promise<Integer> answer) {
            if (!ch.isActive()) {
                req.release();
                answer.tryFailure(new IOException("connection closed"));
                return;
            }
            pending = answer;
            ch.writeAndFlush(req).addListener(w -> {
                if (!w.isSuccess()) {
                    fail(w.cause());
                    ch.close();
                }
            });
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
                keepAlive = HttpUtil.isKeepAlive(r);
            }
            if (msg instanceof LastHttpContent) {
                Promise<Integer> p = pending;
                pending = null;
                if (!keepAlive) {
                    ctx.close();
                }
                if (p != null) {
                    p.trySuccess(status);
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            fail(new IOException("connection closed by the collector"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(cause);
            ctx.close();
        }

        private void fail(Throwable cause) {
            Promise<Integer> p = pending;
            pending = null;
            if (p != null) {
                p.tryFailure(cause);
            }
        }
    }

    /** Writes Zipkin's v2 JSON list of spans (zipkin2.api's {@code ListOfSpans}) into {@code out}. */
    static void writeJson(List<Span> spans, String serviceName, ByteBuf out) {
        try (JsonGenerator g = JSON.createGenerator((OutputStream) new ByteBufOutputStream(out))) {
            g.writeStartArray();
            for (Span s : spans) {
                TraceContext c = s.context();
                g.writeStartObject();
                g.writeStringField("traceId", c.traceIdHex());
                if (c.parentId() != 0) {
                    g.writeStringField("parentId", c.parentIdHex());
                }
                g.writeStringField("id", c.spanIdHex());
                g.writeStringField("kind", s.kind().name());
                g.writeStringField("name", s.name());
                g.writeNumberField("timestamp", s.startEpochMicros());
                g.writeNumberField("duration", Math.max(1, s.durationMicros()));
                g.writeObjectFieldStart("localEndpoint");
                g.writeStringField("serviceName", serviceName);
                g.writeEndObject();
                if (c.debug()) {
                    g.writeBooleanField("debug", true);
                }
                if (s.shared()) {
                    g.writeBooleanField("shared", true);
                }
                if (!s.tags().isEmpty()) {
                    g.writeObjectFieldStart("tags");
                    for (Map.Entry<String, String> t : s.tags().entrySet()) {
                        g.writeStringField(t.getKey(), t.getValue());
                    }
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return "zipkin(" + cluster + endpoint + ")";
    }
}

package io.jmesh.proxy.network.rpc;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.network.DrainEvent;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.protocol.rpc.RpcStatus;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.accesslog.AccessLog;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.LoadBalancerContext;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.upstream.UpstreamRequest;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The RPC proxy for one downstream connection (the {@code jmesh.filters.network.rpc_proxy} filter), placed
 * after the protocol's decoder and encoder by {@link RpcProxyConfig#initPipeline}.
 *
 * <p>For each request: heartbeats are answered here; other requests pass the RPC filter chain (the rpc_proxy's
 * {@code filters}, {@link RpcFilter}) and then its terminal router: they are routed with the filter's route
 * table over their {@linkplain RpcProtocol#routingView(RpcCodec, Object) header view}, sent to a host of the chosen
 * cluster over the event loop's shared {@link RpcUpstreamConnection} to that host under a fresh request id,
 * and the response is written back under the caller's id. A request that cannot be served (no route,
 * unknown cluster, no healthy host, connection failure after the allowed retries, the upstream connection
 * lost with the request in flight, timeout) gets a local error reply in the protocol's own form; a oneway
 * request gets nothing. Connect failures are retried on another host (the request was not written), and so are
 * "not sent" replies from an upstream sidecar that could not reach its application
 * ({@link RpcCodec#isNotDelivered}): up to the route's {@code retry_policy.num_retries}, at least once.
 *
 * <p>Host choice, circuit breakers, outlier reporting and upstream stats are the proxy's one upstream path,
 * {@link UpstreamRequest}: each attempt holds one {@code max_requests} slot from its host pick until it ends
 * (response, local reply, timeout, either connection closing), and a retry holds one {@code max_retries} slot
 * from the retry decision until its attempt starts. A call over {@code max_requests} gets
 * the protocol's "server busy" reply ({@link RpcProtocol.LocalReply#OVERFLOW}), counted in
 * {@code upstream_rq_pending_overflow} and flagged {@code UO}; a retry over {@code max_retries} is not made
 * ({@code upstream_rq_retry_overflow}, {@code UO}). Every result is reported to the cluster's outlier detection
 * (responses as {@link RpcCodec#httpStatus}, connect failures, resets and timeouts as local-origin
 * failures), and host selection re-picks instead of using a host ejected since the balancer was built.
 *
 * <p>A malformed frame closes this connection only, counted in {@code rpc.<stat_prefix>.downstream_cx_protocol_error}.
 *
 * <p>When the listener drains ({@link DrainEvent}: its filter chain was replaced, or it stops), the connection
 * closes as soon as no call is open, after the replies written so far; calls already open, and those read while
 * they are, are served to the end. Bolt and Dubbo have no GOAWAY: the caller sees the close and reconnects, to the
 * listener's new filter chain. Runs on the channel's event loop; nothing blocks.
 */
public final class RpcProxyHandler extends ChannelInboundHandlerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(RpcProxyHandler.class);

    private final RpcProxyConfig config;
    private final RpcCodec protocol;
    /** Calls not finished yet: an intrusive doubly linked list (no allocation per call). */
    private ActiveCall first;
    /** The upstream connection of the previous call, reused while it serves the same cluster and host. */
    private RpcUpstreamConnection lastConnection;
    /** The counters of the previous call's service and method, reused while they are the same. */
    private String lastIface;
    private String lastMethod;
    private Counter lastServiceCounter;
    private Counter lastMethodCounter;
    /** Upstream connections written to during the current read batch, flushed when it ends. */
    private final List<RpcUpstreamConnection> upstreamsToFlush = new ArrayList<>(2);
    private ChannelHandlerContext ctx;
    /** Inside a read batch: between channelRead and channelReadComplete. */
    private boolean reading;
    /** Replies were written during the current read batch and wait for its end to be flushed. */
    private boolean needsFlush;
    /** Queued by an upstream connection for a flush at the end of its read batch (O(1) de-duplication). */
    boolean flushQueued;
    /** The listener drains: close once no call is open ({@link #closeIfDrained}). */
    private boolean draining;

    /** A handler for one downstream connection. */
    public RpcProxyHandler(RpcProxyConfig config) {
        this.config = config;
        this.protocol = config.codec;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        config.cxTotal.inc();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        reading = true;
        if (!protocol.isMessage(msg) || !protocol.isRequest(msg)) {
            // Responses from a caller (e.g. acks of heartbeats nobody sent) have no one to go to.
            ReferenceCountUtil.release(msg);
            return;
        }
        if (protocol.isHeartbeat(msg)) {
            config.heartbeat.inc();
            final Object reply;
            try {
                reply = protocol.heartbeatReply(msg, ctx.alloc());
            } finally {
                ReferenceCountUtil.release(msg);
            }
            if (reply != null) {
                ctx.write(reply);
                needsFlush = true;
            }
            return;
        }
        new ActiveCall(msg).start();
    }

    /**
     * Ends a read batch: one flush per upstream connection written to and one for the replies, so a
     * batch of calls costs one write syscall each way instead of one per call.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        flushUpstreams();
        if (needsFlush) {
            needsFlush = false;
            ctx.flush();
        }
        closeIfDrained();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof DrainEvent) {
            draining = true;
            closeIfDrained();
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * Closes a draining connection with no call open, once what was written reaches the socket. Never inside a read
     * batch: the calls still to be decoded from it are served first ({@link #channelReadComplete} checks again).
     */
    private void closeIfDrained() {
        if (draining && first == null && !reading && ctx.channel().isActive()) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void flushUpstreams() {
        if (!upstreamsToFlush.isEmpty()) {
            for (RpcUpstreamConnection c : upstreamsToFlush) {
                c.flush();
            }
            upstreamsToFlush.clear();
        }
    }

    /** Flushes the replies written to this connection; called by an upstream connection at the end of its read batch. */
    void flush() {
        flushQueued = false;
        ctx.flush();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        reading = false;
        flushUpstreams();
        final List<ActiveCall> open = new ArrayList<>();
        for (ActiveCall c = first; c != null; c = c.next) {
            open.add(c);
        }
        for (ActiveCall c : open) {
            c.onDownstreamClosed();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException) {
            // The decoder (FailClosedFrameDecoder) has logged the reason once already.
            config.cxProtocolError.inc();
        } else {
            logger.debug("{} closing on error: {}", ctx.channel(), cause.toString());
        }
        ctx.close();
    }

    private void countRequest(String iface, String method) {
        if (!iface.equals(lastIface) || !method.equals(lastMethod)) {
            lastServiceCounter = config.serviceRequests(iface);
            lastMethodCounter = config.methodRequests(iface, method);
            lastIface = iface;
            lastMethod = method;
        }
        lastServiceCounter.inc();
        lastMethodCounter.inc();
    }

    /** The upstream connection of this event loop to {@code host} of {@code cluster}. */
    private RpcUpstreamConnection upstreamConnection(UpstreamCluster cluster, Host host) {
        RpcUpstreamConnection c = lastConnection;
        if (c == null || !c.isUsable() || !c.serves(protocol, cluster, host)) {
            c = RpcUpstreamConnection.get(ctx.channel().eventLoop(), protocol, cluster, host, config.maxFrameBytes);
            lastConnection = c;
        }
        return c;
    }

    /**
     * One request from this connection, from decoding to its response or local reply: the filter chain's decode
     * path, the router (upstream attempts, retries, timeout), the encode path, the access log.
     */
    private final class ActiveCall implements RpcUpstreamConnection.Call, LoadBalancerContext, Runnable, RpcRequest,
                                              RpcFilterCallbacks {
        private ActiveCall prev;
        private ActiveCall next;
        /** The request as received (downstream id); one reference, released in {@link #finish()}. */
        private Object request;
        private final boolean oneway;
        private final long startNanos = System.nanoTime();
        private final long startMillis = System.currentTimeMillis();
        private final EnumSet<ResponseFlag> flags = EnumSet.noneOf(ResponseFlag.class);
        private HttpRequest view;
        private RouteEntry route;
        /** A filter cleared the route: the router matches again. */
        private boolean routeCleared;
        private UpstreamCluster cluster;
        /** The current attempt; holds its {@code max_requests} slot until it ends (null before the first). */
        private UpstreamRequest upstream;
        private Host host;
        private Host failedHost;
        private RpcUpstreamConnection connection;
        private long upstreamId;
        private int retriesLeft;
        /** Holds a {@code max_retries} slot from a retry decision until its attempt starts (or the call ends). */
        private boolean retrySlot;
        private ScheduledFuture<?> timer;
        /** A response or local reply was chosen: later ones are dropped. */
        private boolean responding;
        private boolean done;
        private int responseCode = -1;
        private String details;
        private String failure;
        private StreamInfo streamInfo;

        // ---- the filter chain (all null/0 when the chain is the router alone)
        private RpcFilter[] filters;
        private int filterCount;
        /** The next filter to run on the request; {@code filterCount} once the router has it. */
        private int decodeIndex;
        private boolean decodePaused;
        /** continueDecoding() was called by the filter now running, before it returned. */
        private boolean continueRequested;
        /** The next filter to run on the response, going down. */
        private int encodeIndex;
        private boolean encodePaused;
        private boolean encoding;
        /** The response waiting for the encode path; owned until written. */
        private Object pendingResponse;
        private boolean pendingIsLocal;
        /** The router has the call: headers can no longer be added. */
        private boolean routed;
        /** Headers added by filters, written into the frame when the call goes upstream. */
        private Map<String, String> addedHeaders;
        /** Headers removed by filters (of the caller's), taken out of the frame when the call goes upstream. */
        private Set<String> removedHeaders;

        ActiveCall(Object request) {
            this.request = request;
            this.oneway = protocol.isOneway(request);
        }

        void start() {
            next = first;
            if (first != null) {
                first.prev = this;
            }
            first = this;
            config.requestTotal.inc();
            if (oneway) {
                config.oneway.inc();
            }
            view = RpcProtocol.routingView(protocol, request);
            final String iface = view.headers().get(HttpHeaderNames.HOST);
            final String method = view.headers().get(RpcProtocol.METHOD);
            countRequest(iface, method == null ? "" : method);
            // The route is matched before the filters (they may read it); the router acts on it after them.
            route = config.routeTable.route(view);
            final List<RpcFilterFactory.PerCall> factories = config.filters;
            if (factories.isEmpty()) {
                router();
                return;
            }
            filters = new RpcFilter[factories.size()];
            for (RpcFilterFactory.PerCall f : factories) {
                final RpcFilter filter = f.newFilter(this);
                if (filter != null) {
                    filters[filterCount++] = filter;
                }
            }
            decode(0);
        }

        // ---- decode path

        private void decode(int from) {
            for (int i = from; i < filterCount; i++) {
                decodeIndex = i + 1;
                continueRequested = false;
                final RpcFilter.Status s;
                try {
                    s = filters[i].onRequest(this, this);
                } catch (RuntimeException e) {
                    logger.warn("{} RPC filter {} failed on a request: {}", ctx.channel(), filters[i], e.toString());
                    localReply(RpcStatus.INTERNAL, "rpc_filter_error", "jmesh: filter error");
                    return;
                }
                if (responding || done) {
                    return;
                }
                if (s == RpcFilter.Status.STOP_ITERATION && !continueRequested) {
                    decodePaused = true;
                    return;
                }
            }
            router();
        }

        @Override
        public void continueDecoding() {
            if (!ctx.executor().inEventLoop()) {
                ctx.executor().execute(this::continueDecoding);
                return;
            }
            if (done || responding) {
                return;
            }
            if (!decodePaused) {
                continueRequested = decodeIndex > 0 && decodeIndex <= filterCount;
                return;
            }
            decodePaused = false;
            decode(decodeIndex);
        }

        // ---- the router: the terminal filter

        private void router() {
            decodeIndex = filterCount;
            routed = true;
            if (addedHeaders != null || removedHeaders != null) {
                final Map<String, String> added = addedHeaders != null ? addedHeaders : Map.of();
                final Set<String> removed = removedHeaders != null ? removedHeaders : Set.of();
                final Object withHeaders;
                try {
                    withHeaders = protocol.withHeaders(request, added, removed, ctx.alloc());
                } catch (RuntimeException e) {
                    logger.debug("{} cannot add RPC filter headers {} / remove {}: {}", ctx.channel(), added.keySet(),
                                 removed, e.toString());
                    localReply(RpcStatus.INVALID_REQUEST, "rpc_filter_headers_rejected",
                               "jmesh: headers added by a filter: " + e.getMessage());
                    return;
                }
                ReferenceCountUtil.release(request);
                request = withHeaders;
                addedHeaders = null;
                removedHeaders = null;
                if (routeCleared) {
                    view = RpcProtocol.routingView(protocol, request);
                }
            }
            if (routeCleared) {
                routeCleared = false;
                route = config.routeTable.route(view);
            }
            if (route == null || route.kind() != RouteEntry.Kind.ROUTE) {
                flags.add(ResponseFlag.NO_ROUTE_FOUND);
                localReply(RpcProtocol.LocalReply.NO_ROUTE, "jmesh: no route for " + view.uri());
                return;
            }
            final String clusterName = route.selectCluster(view);
            final ClusterManager cm = config.clusters.get();
            cluster = cm == null ? null : cm.get(clusterName);
            if (cluster == null) {
                flags.add(ResponseFlag.NO_CLUSTER_FOUND);
                localReply(RpcProtocol.LocalReply.NO_CLUSTER, "jmesh: unknown cluster " + clusterName);
                return;
            }
            retriesLeft = Math.max(1, route.retryPolicy().numRetries());
            attempt();
            if (!done && !responding && !oneway) {
                final long frameTimeout = protocol.timeoutMillis(request);
                final long timeout = frameTimeout > 0 ? frameTimeout
                        : config.defaultTimeoutMs > 0 ? config.defaultTimeoutMs : route.timeoutMillis();
                if (timeout > 0) {
                    timer = ctx.executor().schedule(this, timeout, TimeUnit.MILLISECONDS);
                }
            }
        }

        private void attempt() {
            // The one upstream path (UpstreamRequest): a retry leaves the host that failed (shouldSelectAnotherHost),
            // and every pick avoids a host ejected since the balancer was built, when there is another; when nothing
            // else comes up it is still used. Then one max_requests slot per attempt, as Envoy's upstream requests.
            final UpstreamRequest r = UpstreamRequest.start(cluster, this);
            if (retrySlot) {
                retrySlot = false;
                UpstreamRequest.releaseRetry(cluster);
            }
            if (!r.started()) {
                flags.add(r.failure().responseFlag());
                if (r.failure() == UpstreamRequest.Failure.OVERFLOW) {
                    localReply(RpcProtocol.LocalReply.OVERFLOW,
                               "jmesh: circuit breaker max_requests of cluster " + cluster.name() + " is full");
                } else {
                    localReply(RpcProtocol.LocalReply.NO_HEALTHY_UPSTREAM,
                               "jmesh: no healthy upstream in cluster " + cluster.name());
                }
                return;
            }
            upstream = r;
            final Host h = r.host();
            host = h;
            connection = upstreamConnection(cluster, h);
            if (connection.send(this, reading) && !upstreamsToFlush.contains(connection)) {
                upstreamsToFlush.add(connection);
            }
        }

        private void endAttempt() {
            if (upstream != null) {
                upstream.end();
            }
        }

        // ---- LoadBalancerContext

        @Override
        public OptionalLong hashKey() {
            return route.hash(view, (InetSocketAddress) ctx.channel().remoteAddress());
        }

        @Override
        public boolean shouldSelectAnotherHost(Host h) {
            return h == failedHost;
        }

        // ---- RpcUpstreamConnection.Call

        @Override
        public Object takeRequest() {
            return ReferenceCountUtil.retain(request);
        }

        @Override
        public void onWritten(RpcUpstreamConnection c, long id) {
            upstreamId = id;
            if (oneway) {
                endAttempt(); // no result to report (Envoy reports none without a response)
                details = "via_upstream";
                finish();
            }
        }

        @Override
        public io.netty.channel.Channel downstream() {
            return ctx.channel();
        }

        @Override
        public boolean expectsResponse() {
            return !oneway;
        }

        @Override
        public void onResponse(Object response) {
            if (done || responding) {
                endAttempt();
                ReferenceCountUtil.release(response);
                return;
            }
            upstream.onResponse(protocol.httpStatus(response));
            endAttempt();
            if (retriesLeft > 0 && protocol.isNotDelivered(response)) {
                // The upstream is a sidecar that could not reach its application: nothing was delivered.
                ReferenceCountUtil.release(response);
                retryOrFail("upstream could not deliver the call");
                return;
            }
            responseCode = protocol.responseStatus(response);
            if (!protocol.isSuccess(response)) {
                config.responseError.inc();
            }
            details = "via_upstream";
            respond(protocol.withRequestId(response, protocol.requestId(request)), false);
        }

        @Override
        public void onConnectFailure(String reason) {
            if (done || responding) {
                endAttempt();
                return;
            }
            upstream.onConnectFailure();
            retryOrFail(reason);
        }

        /** After a failure that left the call undelivered: another attempt, or the connect-failure reply. */
        private void retryOrFail(String reason) {
            failure = reason;
            failedHost = host;
            if (retriesLeft-- > 0) {
                if (UpstreamRequest.tryAcquireRetry(cluster)) {
                    retrySlot = true;
                    attempt();
                    return;
                }
                flags.add(ResponseFlag.UPSTREAM_OVERFLOW);
            }
            flags.add(ResponseFlag.UPSTREAM_CONNECTION_FAILURE);
            localReply(RpcProtocol.LocalReply.CONNECT_FAILURE,
                       "jmesh: upstream connect error to " + host.addressString() + ": " + reason);
        }

        @Override
        public void onUpstreamReset() {
            if (done || responding) {
                endAttempt();
                return;
            }
            upstream.onReset();
            flags.add(ResponseFlag.UPSTREAM_CONNECTION_TERMINATION);
            localReply(RpcProtocol.LocalReply.UPSTREAM_RESET,
                       "jmesh: upstream " + host.addressString() + " closed the connection");
        }

        // ---- local events

        /** The timeout timer. */
        @Override
        public void run() {
            timer = null;
            if (done || responding) {
                return;
            }
            config.requestTimeout.inc();
            if (connection != null) {
                connection.cancel(this, upstreamId);
            }
            if (upstream != null && !upstream.ended()) {
                upstream.onTimeout(); // upstream_rq_timeout, host rq_timeout, a local-origin 504; ends the attempt
            } else {
                cluster.stats().upstreamRqTimeout().inc();
            }
            flags.add(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT);
            localReply(RpcProtocol.LocalReply.TIMEOUT, "jmesh: no response within the timeout");
        }

        void onDownstreamClosed() {
            if (done) {
                return;
            }
            if (connection != null) {
                connection.cancel(this, upstreamId);
            }
            endAttempt();
            flags.add(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION);
            details = "downstream_remote_disconnect";
            finish();
        }

        private void localReply(RpcProtocol.LocalReply reason, String message) {
            localReply(reason.status, reason.details, message);
        }

        private void localReply(RpcStatus status, String localDetails, String message) {
            if (done || responding) {
                return;
            }
            config.localReply.inc();
            details = localDetails;
            if (oneway) {
                responding = true;
                finish();
                return;
            }
            final Object reply = protocol.errorReply(request, status, message, ctx.alloc());
            responseCode = protocol.responseStatus(reply);
            respond(reply, true);
        }

        // ---- encode path

        /** Sends {@code reply} (owned) through the encode path to the caller, then ends the call. */
        private void respond(Object reply, boolean local) {
            responding = true;
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
            if (decodeIndex == 0) { // no filter saw the request
                write(reply);
                finish();
                return;
            }
            pendingResponse = reply;
            pendingIsLocal = local;
            encode(decodeIndex - 1);
        }

        private void encode(int from) {
            final Response view = new Response();
            encoding = true;
            try {
                for (int i = from; i >= 0; i--) {
                    encodeIndex = i - 1;
                    final RpcFilter.Status s;
                    try {
                        s = filters[i].onResponse(view, this);
                    } catch (RuntimeException e) {
                        logger.warn("{} RPC filter {} failed on a response: {}", ctx.channel(), filters[i],
                                    e.toString());
                        continue;
                    }
                    if (done) {
                        return;
                    }
                    if (s == RpcFilter.Status.STOP_ITERATION) {
                        encodePaused = true;
                        return;
                    }
                }
            } finally {
                encoding = false;
            }
            final Object r = pendingResponse;
            pendingResponse = null;
            write(r);
            finish();
        }

        @Override
        public void continueEncoding() {
            if (!ctx.executor().inEventLoop()) {
                ctx.executor().execute(this::continueEncoding);
                return;
            }
            if (done || !encodePaused) {
                return;
            }
            encodePaused = false;
            encode(encodeIndex);
        }

        /** The response as filters see it. */
        private final class Response implements RpcResponse {
            @Override
            public int status() {
                return protocol.responseStatus(pendingResponse);
            }

            @Override
            public boolean isSuccess() {
                return protocol.isSuccess(pendingResponse);
            }

            @Override
            public boolean isLocalReply() {
                return pendingIsLocal;
            }

            @Override
            public Object message() {
                return pendingResponse;
            }
        }

        private void write(Object reply) {
            if (!ctx.channel().isActive()) {
                ReferenceCountUtil.release(reply);
                return;
            }
            ctx.write(reply, ctx.voidPromise());
            // Flush at the end of the read batch that produced the reply (this connection's or the
            // upstream's), or now when it came from a timer or a connection event.
            if (reading) {
                needsFlush = true;
            } else if (connection == null || !connection.flushLater(RpcProxyHandler.this)) {
                ctx.flush();
            }
        }

        private void finish() {
            done = true;
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
            // Whatever ended the call, its attempt ends (idempotent) and a retry slot still held goes back.
            endAttempt();
            if (retrySlot) {
                retrySlot = false;
                UpstreamRequest.releaseRetry(cluster);
            }
            if (prev != null) {
                prev.next = next;
            } else if (first == this) {
                first = next;
            }
            if (next != null) {
                next.prev = prev;
            }
            prev = null;
            next = null;
            log();
            if (pendingResponse != null) {
                ReferenceCountUtil.release(pendingResponse);
                pendingResponse = null;
            }
            for (int i = 0; i < filterCount; i++) {
                try {
                    filters[i].onDestroy();
                } catch (RuntimeException e) {
                    logger.warn("{} RPC filter {} failed on destroy: {}", ctx.channel(), filters[i], e.toString());
                }
            }
            ReferenceCountUtil.release(request);
            closeIfDrained();
        }

        private void log() {
            if (config.accessLog == AccessLog.NOOP && streamInfo == null) {
                return;
            }
            final StreamInfo e = streamInfo()
                    .responseCode(responseCode)
                    .responseCodeDetails(details)
                    .upstreamHost(host == null ? null : host.addressString())
                    .upstreamCluster(cluster == null ? null : cluster.name())
                    .routeName(route == null ? null : route.name())
                    .upstreamTransportFailureReason(failure)
                    .finish(System.nanoTime());
            if (view != null) {
                e.requestHeaders(view.headers())
                 .method(view.headers().get(RpcProtocol.METHOD))
                 .path(view.uri())
                 .authority(view.headers().get(HttpHeaderNames.HOST));
            }
            for (ResponseFlag f : flags) {
                e.addResponseFlag(f);
            }
            if (config.accessLog == AccessLog.NOOP) {
                return;
            }
            try {
                config.accessLog.log(e);
            } catch (RuntimeException ex) {
                logger.warn("access log failed: {}", ex.toString());
            }
        }

        // ---- RpcFilterCallbacks

        @Override
        public void sendLocalReply(RpcStatus status, String message, String localDetails) {
            if (encoding || encodePaused) {
                throw new IllegalStateException("a local reply on the encode path: the response is already chosen");
            }
            localReply(status, localDetails == null ? "rpc_filter_local_reply" : localDetails, message);
        }

        @Override
        public RouteEntry route() {
            return routeCleared ? null : route;
        }

        @Override
        public void clearRouteCache() {
            routeCleared = true;
        }

        @Override
        public StreamInfo streamInfo() {
            StreamInfo s = streamInfo;
            if (s == null) {
                s = new StreamInfo()
                        .startTimeMillis(startMillis)
                        .startNanos(startNanos)
                        .protocol(protocol.name())
                        .downstreamRemoteAddress((InetSocketAddress) ctx.channel().remoteAddress())
                        .downstreamLocalAddress((InetSocketAddress) ctx.channel().localAddress())
                        .downstreamConnection(ConnectionInfo.of(ctx.channel()))
                        .requestAttributes(this);
                streamInfo = s;
            }
            return s;
        }

        @Override
        public ConnectionInfo connection() {
            return ConnectionInfo.of(ctx.channel());
        }

        @Override
        public EventLoop eventLoop() {
            return ctx.channel().eventLoop();
        }

        // ---- RpcRequest / RequestAttributes

        @Override
        public String protocol() {
            return protocol.name();
        }

        @Override
        public String host() {
            return view.headers().get(HttpHeaderNames.HOST);
        }

        @Override
        public String method() {
            return protocol.method(request);
        }

        @Override
        public String path() {
            return view.uri();
        }

        @Override
        public String header(String name) {
            if (addedHeaders != null) {
                final String v = addedHeaders.get(name);
                if (v != null) {
                    return v;
                }
            }
            if (removedHeaders != null && removedHeaders.contains(name)) {
                return null;
            }
            return protocol.headers(request).get(name);
        }

        @Override
        public void forEachHeader(BiConsumer<String, String> action) {
            final Map<String, String> added = addedHeaders;
            final Set<String> removed = removedHeaders;
            for (Map.Entry<String, String> e : protocol.headers(request).entrySet()) {
                if ((added == null || !added.containsKey(e.getKey()))
                    && (removed == null || !removed.contains(e.getKey()))) {
                    action.accept(e.getKey(), e.getValue());
                }
            }
            if (added != null) {
                added.forEach(action);
            }
        }

        @Override
        public String service() {
            return protocol.service(request);
        }

        @Override
        public boolean isOneway() {
            return oneway;
        }

        @Override
        public long requestId() {
            return protocol.requestId(request);
        }

        @Override
        public RpcCodec codec() {
            return protocol;
        }

        @Override
        public Object message() {
            return request;
        }

        @Override
        public void setHeader(String name, String value) {
            if (responding || done || routed) {
                throw new IllegalStateException("headers can be added only before the call goes upstream");
            }
            if (addedHeaders == null) {
                addedHeaders = new LinkedHashMap<>(4);
            }
            addedHeaders.put(name, value);
        }

        @Override
        public void removeHeader(String name) {
            if (responding || done || routed) {
                throw new IllegalStateException("headers can be removed only before the call goes upstream");
            }
            if (addedHeaders != null) {
                addedHeaders.remove(name);
            }
            if (protocol.headers(request).containsKey(name)) {
                if (removedHeaders == null) {
                    removedHeaders = new HashSet<>(4);
                }
                removedHeaders.add(name);
            }
        }

        @Override
        public String toString() {
            return "RpcCall(" + protocol.name() + ' ' + (view == null ? "" : view.uri()) + ')';
        }
    }
}

package io.jmesh.proxy.network.http;

import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.filter.DownstreamWatermarkCallbacks;
import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilter;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamFilterBase;
import io.jmesh.proxy.filter.StreamFilterCallbacks;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.upstream.pool.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;

/**
 * The HTTP filters of one stream (Envoy's {@code FilterManager}, {@code source/common/http/filter_manager.cc}):
 * runs the decoder filters on the request's headers, data and trailers in configuration order and the encoder
 * filters on the response in reverse order, with Envoy's iteration statuses ({@link FilterHeadersStatus},
 * {@link FilterDataStatus}, {@link FilterTrailersStatus}), buffering up to a limit (past it: 413 on the
 * request path, 500 on the response path, or flow control for the watermark statuses), {@code continueDecoding}
 * / {@code continueEncoding}, local replies ({@link LocalReply}), the route cache, and {@code onDestroy} exactly
 * once per filter. A filter that throws ends its stream with a 500 (or a reset once the response started),
 * never the connection.
 *
 * <p>Used by the connection manager's {@link ActiveStream}; public so that tests and benchmarks can run filter
 * chains without sockets. Not thread-safe: every method runs on {@link #eventLoop()}.
 *
 * <p>Iteration: an event (headers, a piece of data, trailers) goes from the first filter on until a filter
 * stops it. Headers stop at one filter (later ones have not seen them); what arrives after is shown to that
 * filter when it stopped with {@code STOP_ITERATION}, and held without being shown with {@code STOP_ALL_*}. The
 * body is held at one filter at a time (the one that stopped it); filters before it must pass new data on: a
 * stop from them then is treated as {@code CONTINUE}.
 * Bodies pass as the same {@code ByteBuf} from filter to filter; nothing is copied, and the buffer of a
 * stopped filter is a {@link CompositeByteBuf} of the pieces it holds.
 */
public final class FilterManager {

    private static final Logger logger = LoggerFactory.getLogger(FilterManager.class);

    /** What the filter manager needs from its stream (Envoy's {@code FilterManagerCallbacks}). */
    public interface Callbacks {
        /** Encoded response headers, to the codec. */
        void encodeHeaders(HttpResponse headers, boolean endStream);

        /** An encoded piece of response body (ownership passes). */
        void encodeData(ByteBuf data, boolean endStream);

        /** Encoded response trailers. */
        void encodeTrailers(HttpHeaders trailers);

        /** Flushes encoded output to the socket. */
        void flush();

        /** The response is complete (after the last encode call). */
        void onEncodeComplete();

        /** Abandon the stream: the response cannot be completed. */
        void resetStream();

        /** Pause or resume reading the downstream request. */
        void setDownstreamReadable(boolean readable);

        /** HTTP/1.1 Upgrade hand-over; false when the downstream cannot switch. */
        default boolean switchProtocols(HttpResponse switchingProtocols, UpstreamStream upstream) {
            return false;
        }

        /** A local reply is being sent (for stats); {@code status} is the HTTP status as sent. */
        default void onLocalReply(int status) {}
    }

    private final Callbacks callbacks;
    private final EventLoop eventLoop;
    private final StreamInfo streamInfo;
    private final ConnectionInfo connection;
    private final Function<HttpRequest, RouteEntry> router;
    private final LocalReply localReply;
    private final int bufferLimit;
    private final Chain decoder;
    private final Chain encoder;
    private static final byte DECODER = 1;
    private static final byte ENCODER = 2;
    private static final byte BOTH = 3;
    private static final ClassValue<Byte> KINDS = new ClassValue<>() {
        @Override
        protected Byte computeValue(Class<?> type) {
            boolean d = StreamDecoderFilter.class.isAssignableFrom(type);
            boolean e = StreamEncoderFilter.class.isAssignableFrom(type);
            return (byte) (d && e ? BOTH : d ? DECODER : e ? ENCODER : 0);
        }
    };
    /** The first registered downstream watermark callbacks (the router's); null when none. */
    private DownstreamWatermarkCallbacks watermark;
    /** Any further ones; null when none. */
    private DownstreamWatermarkCallbacks[] moreWatermarks;

    private HttpRequest request;
    private RouteEntry route;
    private boolean routeCached;
    private boolean destroyed;
    private boolean responseHeadersSent;
    private boolean encodeComplete;
    private boolean localReplyInProgress;
    private Runnable onDecodeOverLimit;
    private Runnable onEncodeOverLimit;

    /**
     * A filter manager over {@code filters} (each a {@link StreamDecoderFilter}, a {@link StreamEncoderFilter}
     * or both, in configuration order; the list is kept, not copied). {@code router} matches a request to its route (the route cache);
     * {@code bufferLimit} bounds what a stopped filter holds.
     */
    public FilterManager(Callbacks callbacks, EventLoop eventLoop, StreamInfo streamInfo, ConnectionInfo connection,
                         Function<HttpRequest, RouteEntry> router, LocalReply localReply, int bufferLimit,
                         List<? extends StreamFilterBase> filters) {
        this.callbacks = callbacks;
        this.eventLoop = eventLoop;
        this.streamInfo = streamInfo;
        this.connection = connection;
        this.router = router;
        this.localReply = localReply;
        this.bufferLimit = bufferLimit;
        // A filter's kind comes from a per-class cache, and each filter is cast to one interface only: interface
        // checks that alternate on one class defeat HotSpot's secondary-supers cache (JDK-8180450).
        int size = filters.size();
        byte[] kinds = new byte[size];
        int decoders = 0;
        int encoders = 0;
        for (int i = 0; i < size; i++) {
            byte k = KINDS.get(filters.get(i).getClass());
            kinds[i] = k;
            decoders += (k & DECODER) != 0 ? 1 : 0;
            encoders += (k & ENCODER) != 0 ? 1 : 0;
        }
        Entry[] dec = new Entry[decoders];
        Entry[] enc = new Entry[encoders];
        int d = 0;
        for (int i = 0; i < size; i++) {
            Object f = filters.get(i);
            if (kinds[i] == BOTH) {
                dec[d++] = new DecoderEntry(f instanceof HttpFilter ? (HttpFilter) f : (StreamDecoderFilter) f);
            } else if (kinds[i] == DECODER) {
                dec[d++] = new DecoderEntry((StreamDecoderFilter) f);
            }
        }
        int n = 0;
        for (int i = size - 1; i >= 0; i--) {
            Object f = filters.get(i);
            if (kinds[i] == BOTH) {
                EncoderEntry e = new EncoderEntry(f instanceof HttpFilter ? (HttpFilter) f : (StreamEncoderFilter) f);
                e.alsoDecoder = true;
                enc[n++] = e;
            } else if (kinds[i] == ENCODER) {
                enc[n++] = new EncoderEntry((StreamEncoderFilter) f);
            }
        }
        decoder = new Chain(dec, true);
        encoder = new Chain(enc, false);
        for (Entry e : decoder.entries) {
            ((DecoderEntry) e).filter.setDecoderFilterCallbacks((DecoderEntry) e);
        }
        for (Entry e : encoder.entries) {
            ((EncoderEntry) e).filter.setEncoderFilterCallbacks((EncoderEntry) e);
        }
    }

    /** Sets what happens past the buffer limit in each direction (by default: 413 / 500 local replies). */
    void onOverLimit(Runnable decode, Runnable encode) {
        this.onDecodeOverLimit = decode;
        this.onEncodeOverLimit = encode;
    }

    // ------------------------------------------------------------------ downstream events

    /** The request headers; {@code endStream} when nothing follows. */
    public void decodeHeaders(HttpRequest headers, boolean endStream) {
        this.request = headers;
        decoder.onHeaders(headers, endStream);
    }

    /** A piece of request body (ownership passes); {@code endStream} on the last one. */
    public void decodeData(ByteBuf data, boolean endStream) {
        decoder.onData(data, endStream);
    }

    /** The request trailers. */
    public void decodeTrailers(HttpHeaders trailers) {
        decoder.onTrailers(trailers);
    }

    /** A batch of downstream reads ended. */
    public void onDownstreamReadComplete() {
        if (watermark != null && !destroyed) {
            watermark.onDownstreamReadComplete();
            if (moreWatermarks != null) {
                for (DownstreamWatermarkCallbacks w : moreWatermarks) {
                    w.onDownstreamReadComplete();
                }
            }
        }
    }

    /** The downstream's writability changed. */
    public void onDownstreamWritabilityChanged(boolean writable) {
        if (watermark != null && !destroyed) {
            notifyWatermark(!writable);
        }
    }

    // ------------------------------------------------------------------ state

    public EventLoop eventLoop() {
        return eventLoop;
    }

    public StreamInfo streamInfo() {
        return streamInfo;
    }

    /** The current route (cached; see {@link StreamFilterCallbacks#route()}). */
    public RouteEntry route() {
        if (!routeCached && request != null) {
            route = router.apply(request);
            routeCached = true;
            streamInfo.routeName(route == null ? null : route.name());
        }
        return route;
    }

    /** Sets the cached route (the connection manager chose it to create the filters). */
    public void cacheRoute(RouteEntry route) {
        this.route = route;
        this.routeCached = true;
        streamInfo.routeName(route == null ? null : route.name());
    }

    /** Forgets the cached route. */
    public void clearRouteCache() {
        routeCached = false;
    }

    /** Whether response headers went downstream. */
    public boolean responseStarted() {
        return responseHeadersSent;
    }

    /** Whether the whole response went downstream. */
    public boolean encodeComplete() {
        return encodeComplete;
    }

    /** Whether {@link #destroy()} ran. */
    public boolean destroyed() {
        return destroyed;
    }

    /**
     * Sends a local reply (see {@link StreamFilterCallbacks#sendLocalReply}): through the encoder filters when
     * no response has started to be encoded, directly to the codec when an encoder filter holds the response
     * headers, and as a reset when headers already went downstream.
     */
    public void sendLocalReply(int status, String body, String details, Consumer<HttpHeaders> modifyHeaders,
                               int grpcStatus) {
        if (destroyed || encodeComplete || localReplyInProgress) {
            return;
        }
        if (responseHeadersSent) {
            streamInfo.responseCodeDetails(details);
            callbacks.resetStream();
            return;
        }
        localReplyInProgress = true;
        try {
            LocalReply.Reply reply = localReply.build(request, status, body, modifyHeaders, grpcStatus, streamInfo);
            streamInfo.responseCodeDetails(details);
            callbacks.onLocalReply(reply.headers.status().code());
            decoder.abort(); // the request goes no further
            RouteEntry r = routeCached ? route : null;
            if (r != null) {
                r.transformResponse(reply.headers, streamInfo.upstreamCluster());
            }
            boolean viaFilters = !encoder.started;
            if (!viaFilters) {
                encoder.abort(); // Envoy's sendDirectLocalReply: the held response is dropped
            }
            ByteBuf content = reply.body;
            boolean headersOnly = content == null || !content.isReadable();
            if (viaFilters && encoder.entries.length == 0 && !headersOnly) {
                // No encoder filter: the reply goes out as one message.
                encoder.started = true;
                HttpResponse h = reply.headers;
                terminalHeaders(new DefaultFullHttpResponse(h.protocolVersion(), h.status(), content, h.headers(),
                        EmptyHttpHeaders.INSTANCE), true);
            } else if (viaFilters) {
                encoder.onHeaders(reply.headers, headersOnly);
                if (!headersOnly) {
                    encoder.onData(content, true);
                } else if (content != null) {
                    content.release();
                }
            } else {
                terminalHeaders(reply.headers, headersOnly);
                if (!headersOnly) {
                    terminalData(content, true);
                } else if (content != null) {
                    content.release();
                }
            }
        } finally {
            localReplyInProgress = false;
        }
    }

    /** Ends the filters: each one's {@code onDestroy} runs once; held buffers are released. Idempotent. */
    public void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        decoder.releaseHeld();
        encoder.releaseHeld();
        for (Entry e : decoder.entries) {
            destroy(((DecoderEntry) e).filter);
        }
        for (Entry e : encoder.entries) {
            EncoderEntry en = (EncoderEntry) e;
            if (!en.alsoDecoder) {
                destroy(en.filter);
            }
        }
    }

    private void destroy(StreamFilterBase f) {
        try {
            f.onDestroy();
        } catch (RuntimeException e) {
            logger.warn("{} filter {} failed in onDestroy: {}", connection, f.getClass().getName(), e.toString());
        }
    }

    /**
     * A filter threw: the stream ends with a 500 local reply (details {@code filter_exception}), or a reset when
     * the response has started; the exception is logged, the connection lives on.
     */
    private void filterFailed(StreamFilterBase filter, RuntimeException e) {
        logger.warn("{} HTTP filter {} failed", connection, filter.getClass().getName(), e);
        if (localReplyInProgress) {
            callbacks.resetStream();
            return;
        }
        sendLocalReply(500, "Internal Server Error", "filter_exception", null, -1);
    }

    private void notifyWatermark(boolean above) {
        if (above) {
            watermark.onAboveWriteBufferHighWatermark();
        } else {
            watermark.onBelowWriteBufferLowWatermark();
        }
        if (moreWatermarks != null) {
            for (DownstreamWatermarkCallbacks w : moreWatermarks) {
                if (above) {
                    w.onAboveWriteBufferHighWatermark();
                } else {
                    w.onBelowWriteBufferLowWatermark();
                }
            }
        }
    }

    private void decodeOverLimit() {
        if (onDecodeOverLimit != null) {
            onDecodeOverLimit.run();
        } else {
            sendLocalReply(413, "Payload Too Large", "request_payload_too_large", null, -1);
        }
    }

    private void encodeOverLimit() {
        if (onEncodeOverLimit != null) {
            onEncodeOverLimit.run();
        } else {
            sendLocalReply(500, "Internal Server Error", "response_payload_too_large", null, -1);
        }
    }

    // ------------------------------------------------------------------ terminal (after the last filter)

    private void terminalHeaders(HttpMessage headers, boolean endStream) {
        responseHeadersSent = true;
        callbacks.encodeHeaders((HttpResponse) headers, endStream);
        if (endStream) {
            completeEncode();
        }
    }

    private void terminalData(ByteBuf data, boolean endStream) {
        callbacks.encodeData(data, endStream);
        if (endStream) {
            completeEncode();
        }
    }

    private void terminalTrailers(HttpHeaders trailers) {
        callbacks.encodeTrailers(trailers);
        completeEncode();
    }

    private void completeEncode() {
        if (encodeComplete) {
            return;
        }
        encodeComplete = true;
        callbacks.flush();
        callbacks.onEncodeComplete();
    }

    // ------------------------------------------------------------------ iteration

    /**
     * One direction's filters and iteration state, per Envoy's rules: headers stop at {@code hStop} (later
     * filters have not seen them); the body is held at {@code dStop} (a filter that stopped data, or stopped all
     * iteration on headers); trailers are held at {@code tStop}. A continue at one of these resumes, in order,
     * the headers, the held body and the held trailers from the next filter on.
     */
    private final class Chain {
        final Entry[] entries;
        final boolean decode;
        HttpMessage headers;
        boolean headersEnd;
        boolean headersDone;
        int hStop = -1;
        boolean hAll;
        int dStop = -1;
        int tStop = -1;
        boolean watermarkMode;
        boolean watermarked;
        CompositeByteBuf buffer;
        boolean heldEnd;
        HttpHeaders heldTrailers;
        boolean started;
        boolean aborted;
        /** What a stopped filter may hold (the buffer filter raises it for the request, as Envoy's setDecoderBufferLimit). */
        int limit = bufferLimit;

        Chain(Entry[] entries, boolean decode) {
            this.entries = entries;
            this.decode = decode;
            for (int i = 0; i < entries.length; i++) {
                entries[i].index = i;
                entries[i].chain = this;
            }
        }

        boolean dead() {
            return destroyed || aborted;
        }

        void abort() {
            aborted = true;
            releaseHeld();
        }

        void onHeaders(HttpMessage h, boolean end) {
            if (dead()) {
                return;
            }
            started = true;
            headers = h;
            headersEnd = end;
            runHeaders(0, false);
        }

        void onData(ByteBuf data, boolean end) {
            if (dead()) {
                ReferenceCountUtil.safeRelease(data);
                return;
            }
            runData(0, data, end);
        }

        void onTrailers(HttpHeaders t) {
            if (dead()) {
                return;
            }
            runTrailers(0, t);
        }

        /**
         * Runs the headers from filter {@code from}; {@code bodyFollows} when a body a filter added goes on after
         * them. Returns true when the headers went past the last filter.
         */
        private boolean runHeaders(int from, boolean bodyFollows) {
            for (int i = from; i < entries.length; i++) {
                FilterHeadersStatus s = entries[i].headers(headers, headersEnd && !bodyFollows && buffer == null);
                if (dead()) {
                    return false;
                }
                switch (s) {
                    case CONTINUE:
                        if (dStop == i) {
                            // The filter added a body (addDecodedData) and continues: headers, then that body.
                            hStop = i;
                            hAll = false;
                            resumeAt(i);
                            return headersDone;
                        }
                        continue;
                    case STOP_ITERATION:
                        hStop = i;
                        hAll = false;
                        return false;
                    case STOP_ALL_ITERATION_AND_BUFFER:
                    case STOP_ALL_ITERATION_AND_WATERMARK:
                        hStop = i;
                        hAll = true;
                        dStop = i;
                        watermarkMode = s == FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK;
                        return false;
                    default:
                        throw new IllegalStateException(s.toString());
                }
            }
            headersDone = true;
            if (!decode) {
                terminalHeaders(headers, headersEnd && !bodyFollows && buffer == null);
            }
            return true;
        }

        private void runData(int from, ByteBuf data, boolean end) {
            for (int i = from; i < entries.length; i++) {
                if (i == hStop && hAll) {
                    hold(data, end);
                    return;
                }
                FilterDataStatus s = entries[i].data(data, end);
                boolean injected = entries[i].injected;
                entries[i].injected = false;
                if (injected && s == FilterDataStatus.STOP_ITERATION_NO_BUFFER) {
                    return; // the filter took this piece and passed its own data on (compressors)
                }
                if (dead()) {
                    if (s != FilterDataStatus.STOP_ITERATION_NO_BUFFER) {
                        ReferenceCountUtil.safeRelease(data);
                    }
                    return;
                }
                if (s == FilterDataStatus.CONTINUE) {
                    if (i == dStop || i == hStop) {
                        dStop = i; // what this filter held goes on before this piece
                        append(data, end);
                        resumeAt(i);
                        return;
                    }
                    continue;
                }
                if (dStop >= 0 && dStop != i) {
                    // An earlier filter may not stop the body while a later one holds it (documented).
                    logger.debug("{} filter {} stopped data while filter {} holds the body; continuing",
                            connection, i, dStop);
                    if (s == FilterDataStatus.STOP_ITERATION_NO_BUFFER) {
                        return;
                    }
                    continue;
                }
                if (s == FilterDataStatus.STOP_ITERATION_NO_BUFFER) {
                    if (i < entries.length - 1) {
                        dStop = i;
                        heldEnd |= end;
                    }
                    return;
                }
                dStop = i;
                watermarkMode = s == FilterDataStatus.STOP_ITERATION_AND_WATERMARK;
                hold(data, end);
                return;
            }
            if (decode) {
                ReferenceCountUtil.safeRelease(data); // no terminal filter took it
                return;
            }
            terminalData(data, end);
        }

        private void runTrailers(int from, HttpHeaders t) {
            for (int i = from; i < entries.length; i++) {
                if (i == hStop && hAll) {
                    tStop = i;
                    heldTrailers = t;
                    return;
                }
                FilterTrailersStatus s = entries[i].trailers(t);
                if (dead()) {
                    return;
                }
                if (s == FilterTrailersStatus.CONTINUE) {
                    if (i == dStop || i == hStop) {
                        tStop = i;
                        heldTrailers = t;
                        resumeAt(i);
                        return;
                    }
                    continue;
                }
                tStop = i;
                heldTrailers = t;
                return;
            }
            if (!decode) {
                terminalTrailers(t);
            }
        }

        /** Filter {@code i} continues: headers stopped there, the body held there, trailers held there go on. */
        void resumeAt(int i) {
            CompositeByteBuf b = null;
            boolean end = false;
            boolean data = i == dStop;
            if (data) {
                dStop = -1;
                b = buffer;
                end = heldEnd;
                buffer = null;
                heldEnd = false;
                if (watermarked) {
                    watermarked = false;
                    watermark(false);
                }
            }
            if (i == hStop) {
                hStop = -1;
                runHeaders(i + 1, b != null);
                if (dead()) {
                    ReferenceCountUtil.safeRelease(b);
                    return;
                }
            }
            if (data && (b != null || end)) {
                runData(i + 1, b != null ? b : Unpooled.EMPTY_BUFFER, end);
                if (dead()) {
                    return;
                }
            }
            if (i == tStop) {
                tStop = -1;
                HttpHeaders t = heldTrailers;
                heldTrailers = null;
                runTrailers(i + 1, t);
            }
        }

        /** Appends to the held buffer (no limit check); false when nothing is held. */
        private boolean append(ByteBuf data, boolean end) {
            heldEnd |= end;
            if (!data.isReadable()) {
                data.release();
                return buffer != null;
            }
            if (buffer == null) {
                buffer = data.alloc().compositeBuffer(Integer.MAX_VALUE);
            }
            buffer.addComponent(true, data);
            return true;
        }

        private void hold(ByteBuf data, boolean end) {
            if (append(data, end) && buffer.readableBytes() > limit) {
                if (watermarkMode) {
                    if (!watermarked) {
                        watermarked = true;
                        watermark(true);
                    }
                } else if (decode) {
                    decodeOverLimit();
                } else {
                    encodeOverLimit();
                }
            }
        }

        private void watermark(boolean above) {
            if (decode) {
                callbacks.setDownstreamReadable(!above);
            } else if (watermark != null) {
                notifyWatermark(above);
            }
        }

        void addData(int index, ByteBuf data) {
            if (dead()) {
                ReferenceCountUtil.safeRelease(data);
                return;
            }
            if (dStop < 0) {
                dStop = index;
            }
            // Added to a headers-only message, the body ends it.
            hold(data, headersEnd && !headersDone);
        }

        /** Filter {@code index} passes {@code data} (ownership passes) to the filters after it, now. */
        void inject(int index, ByteBuf data, boolean end) {
            if (dead()) {
                ReferenceCountUtil.safeRelease(data);
                return;
            }
            entries[index].injected = true;
            runData(index + 1, data, end);
        }

        void continueAt(int index) {
            if (dead() || (index != hStop && index != dStop && index != tStop)) {
                return;
            }
            resumeAt(index);
        }

        ByteBuf bufferAt(int index) {
            return dStop == index ? buffer : null;
        }

        void releaseHeld() {
            if (buffer != null) {
                buffer.release();
                buffer = null;
            }
            heldTrailers = null;
        }
    }

    /** One filter's place in one direction; it is also the filter's callbacks. */
    private abstract class Entry implements StreamFilterCallbacks {
        int index;
        Chain chain;
        /** The filter injected data during its current data call. */
        boolean injected;

        /** The filter this entry calls. */
        abstract StreamFilterBase filter();

        abstract FilterHeadersStatus callHeaders(HttpMessage h, boolean end);

        abstract FilterDataStatus callData(ByteBuf data, boolean end);

        abstract FilterTrailersStatus callTrailers(HttpHeaders t);

        /** Calls the filter; a throwing filter ends the stream (see {@link #filterFailed}) and stops the chain. */
        final FilterHeadersStatus headers(HttpMessage h, boolean end) {
            try {
                return callHeaders(h, end);
            } catch (RuntimeException e) {
                filterFailed(filter(), e);
                return FilterHeadersStatus.STOP_ITERATION;
            }
        }

        final FilterDataStatus data(ByteBuf data, boolean end) {
            try {
                return callData(data, end);
            } catch (RuntimeException e) {
                filterFailed(filter(), e);
                return FilterDataStatus.STOP_ITERATION_NO_BUFFER; // who owns the buffer now is unknown
            }
        }

        final FilterTrailersStatus trailers(HttpHeaders t) {
            try {
                return callTrailers(t);
            } catch (RuntimeException e) {
                filterFailed(filter(), e);
                return FilterTrailersStatus.STOP_ITERATION;
            }
        }

        @Override
        public EventLoop eventLoop() {
            return eventLoop;
        }

        @Override
        public ConnectionInfo connection() {
            return connection;
        }

        @Override
        public StreamInfo streamInfo() {
            return streamInfo;
        }

        @Override
        public HttpRequest requestHeaders() {
            return request;
        }

        @Override
        public RouteEntry route() {
            return FilterManager.this.route();
        }

        @Override
        public void clearRouteCache() {
            FilterManager.this.clearRouteCache();
        }

        @Override
        public void sendLocalReply(int status, String body, String details, Consumer<HttpHeaders> modifyHeaders,
                                   int grpcStatus) {
            FilterManager.this.sendLocalReply(status, body, details, modifyHeaders, grpcStatus);
        }

        @Override
        public void resetStream() {
            if (!destroyed) {
                callbacks.resetStream();
            }
        }
    }

    private final class DecoderEntry extends Entry implements StreamDecoderFilterCallbacks {
        final StreamDecoderFilter filter;

        DecoderEntry(StreamDecoderFilter filter) {
            this.filter = filter;
        }

        @Override
        StreamFilterBase filter() {
            return filter;
        }

        @Override
        FilterHeadersStatus callHeaders(HttpMessage h, boolean end) {
            return filter.decodeHeaders((HttpRequest) h, end);
        }

        @Override
        FilterDataStatus callData(ByteBuf data, boolean end) {
            return filter.decodeData(data, end);
        }

        @Override
        FilterTrailersStatus callTrailers(HttpHeaders t) {
            return filter.decodeTrailers(t);
        }

        @Override
        public void continueDecoding() {
            chain.continueAt(index);
        }

        @Override
        public ByteBuf decodingBuffer() {
            return chain.bufferAt(index);
        }

        @Override
        public void addDecodedData(ByteBuf data) {
            chain.addData(index, data);
        }

        @Override
        public void injectDecodedDataToFilterChain(ByteBuf data, boolean endStream) {
            chain.inject(index, data, endStream);
        }

        @Override
        public void setDecoderBufferLimit(int limit) {
            chain.limit = limit;
        }

        @Override
        public int decoderBufferLimit() {
            return chain.limit;
        }

        @Override
        public void encodeHeaders(HttpResponse headers, boolean endStream) {
            if (destroyed || encodeComplete || encoder.started) {
                return;
            }
            RouteEntry r = routeCached ? route : null;
            if (r != null) {
                r.transformResponse(headers, streamInfo.upstreamCluster());
            }
            encoder.onHeaders(headers, endStream);
        }

        @Override
        public void encodeData(ByteBuf data, boolean endStream) {
            if (encodeComplete) {
                ReferenceCountUtil.safeRelease(data);
                return;
            }
            encoder.onData(data, endStream);
        }

        @Override
        public void encodeTrailers(HttpHeaders trailers) {
            if (!encodeComplete) {
                encoder.onTrailers(trailers);
            }
        }

        @Override
        public void flushEncoded() {
            if (!destroyed) {
                callbacks.flush();
            }
        }

        @Override
        public void onDecoderFilterAboveWriteBufferHighWatermark() {
            if (!destroyed) {
                callbacks.setDownstreamReadable(false);
            }
        }

        @Override
        public void onDecoderFilterBelowWriteBufferLowWatermark() {
            if (!destroyed) {
                callbacks.setDownstreamReadable(true);
            }
        }

        @Override
        public void addDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks w) {
            if (watermark == null) {
                watermark = w; // a field store: no array-store type check on the hot path
            } else {
                DownstreamWatermarkCallbacks[] old = moreWatermarks;
                DownstreamWatermarkCallbacks[] more = old == null ? new DownstreamWatermarkCallbacks[1]
                        : java.util.Arrays.copyOf(old, old.length + 1);
                more[more.length - 1] = w;
                moreWatermarks = more;
            }
        }

        @Override
        public boolean switchProtocols(HttpResponse switchingProtocols, UpstreamStream upstream) {
            if (destroyed || responseHeadersSent) {
                return false;
            }
            responseHeadersSent = true;
            encodeComplete = true;
            return callbacks.switchProtocols(switchingProtocols, upstream);
        }
    }

    private final class EncoderEntry extends Entry implements StreamEncoderFilterCallbacks {
        final StreamEncoderFilter filter;
        /** The filter is also a decoder (destroyed through its decoder entry). */
        boolean alsoDecoder;

        EncoderEntry(StreamEncoderFilter filter) {
            this.filter = filter;
        }

        @Override
        StreamFilterBase filter() {
            return filter;
        }

        @Override
        FilterHeadersStatus callHeaders(HttpMessage h, boolean end) {
            return filter.encodeHeaders((HttpResponse) h, end);
        }

        @Override
        FilterDataStatus callData(ByteBuf data, boolean end) {
            return filter.encodeData(data, end);
        }

        @Override
        FilterTrailersStatus callTrailers(HttpHeaders t) {
            return filter.encodeTrailers(t);
        }

        @Override
        public void continueEncoding() {
            chain.continueAt(index);
        }

        @Override
        public ByteBuf encodingBuffer() {
            return chain.bufferAt(index);
        }

        @Override
        public void addEncodedData(ByteBuf data) {
            chain.addData(index, data);
        }

        @Override
        public void injectEncodedDataToFilterChain(ByteBuf data, boolean endStream) {
            chain.inject(index, data, endStream);
        }
    }
}

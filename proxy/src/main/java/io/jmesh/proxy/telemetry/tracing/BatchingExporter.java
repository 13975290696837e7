package io.jmesh.proxy.telemetry.tracing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;

/**
 * Queues finished spans and sends them in batches from one shared daemon thread ({@code jmesh-tracing}), never from
 * an event loop: a batch goes when {@link #MIN_FLUSH_SPANS} spans are queued (Envoy's {@code min_flush_spans}) or
 * every {@link #FLUSH_INTERVAL_MS} (Envoy's {@code flush_interval_ms}, 5 s there). At most {@link #MAX_QUEUED}
 * spans wait; more are dropped and counted in {@code tracing.<name>.spans_dropped}. Each batch goes to a host that
 * the collector cluster's load balancer picks for it; without one it is counted in
 * {@code tracing.<name>.reports_skipped_no_cluster}. Thread-safe.
 */
abstract class BatchingExporter implements SpanExporter {

    private static final Logger logger = LoggerFactory.getLogger(BatchingExporter.class);

    /** Spans that make a batch go at once. */
    static final int MIN_FLUSH_SPANS = 5;
    /** A partial batch goes after this long. */
    static final long FLUSH_INTERVAL_MS = 1000;
    /** Spans that may wait; more are dropped. */
    static final int MAX_QUEUED = 10_000;
    /** The largest batch in one report. */
    static final int MAX_BATCH = 1000;

    static final ScheduledExecutorService EXECUTOR = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "jmesh-tracing");
        t.setDaemon(true);
        return t;
    });

    private final Supplier<ClusterManager> clusters;
    /** The collector cluster's name. */
    final String cluster;
    private final ConcurrentLinkedQueue<Span> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final ScheduledFuture<?> timer;
    private volatile boolean closed;

    final Counter spansSent;
    final Counter spansDropped;
    final Counter timerFlushed;
    final Counter reportsSent;
    final Counter reportsFailed;
    private final Counter reportsSkippedNoCluster;

    BatchingExporter(Supplier<ClusterManager> clusters, String cluster, Stats stats, String statName) {
        this.clusters = clusters;
        this.cluster = cluster;
        String p = "tracing." + statName + ".";
        spansSent = stats.counter(p + "spans_sent");
        spansDropped = stats.counter(p + "spans_dropped");
        timerFlushed = stats.counter(p + "timer_flushed");
        reportsSent = stats.counter(p + "reports_sent");
        reportsFailed = stats.counter(p + "reports_failed");
        reportsSkippedNoCluster = stats.counter(p + "reports_skipped_no_cluster");
        timer = EXECUTOR.scheduleWithFixedDelay(this::onTimer, FLUSH_INTERVAL_MS, FLUSH_INTERVAL_MS,
                TimeUnit.MILLISECONDS);
    }

    @Override
    public final void export(Span span) {
        if (closed || queued.incrementAndGet() > MAX_QUEUED) {
            queued.decrementAndGet();
            spansDropped.inc();
            return;
        }
        queue.add(span);
        if (queued.get() >= MIN_FLUSH_SPANS) {
            flush();
        }
    }

    @Override
    public final void flush() {
        if (flushScheduled.compareAndSet(false, true)) {
            EXECUTOR.execute(() -> {
                flushScheduled.set(false);
                drain();
            });
        }
    }

    private void onTimer() {
        if (queued.get() > 0) {
            timerFlushed.inc();
            drain();
        }
    }

    /** Sends everything queued, in batches of at most {@link #MAX_BATCH}; runs on the tracing thread. */
    private void drain() {
        while (true) {
            List<Span> batch = new ArrayList<>();
            Span s;
            while (batch.size() < MAX_BATCH && (s = queue.poll()) != null) {
                batch.add(s);
            }
            if (batch.isEmpty()) {
                return;
            }
            queued.addAndGet(-batch.size());
            try {
                send(batch);
            } catch (RuntimeException e) {
                reportsFailed.inc();
                logger.warn("{}: sending {} spans failed: {}", this, batch.size(), e.toString());
            }
        }
    }

    /** Sends one batch to a host of the collector cluster, or counts it as skipped when there is none. */
    private void send(List<Span> batch) {
        ClusterManager cm = clusters.get();
        UpstreamCluster c = cm == null ? null : cm.get(cluster);
        Host host = c == null ? null : c.chooseHost(null);
        if (host == null) {
            reportsSkippedNoCluster.inc();
            return;
        }
        send(batch, host);
    }

    /** Sends one batch to {@code host}, blocking the tracing thread at most a few seconds; counts the outcome. */
    abstract void send(List<Span> batch, Host host);

    /** Stops the timer and sends what is queued (waits for it on the tracing thread, at most 5 s). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timer.cancel(false);
        try {
            EXECUTOR.submit(this::drain).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            logger.debug("{}: final flush: {}", this, e.toString());
        }
    }
}

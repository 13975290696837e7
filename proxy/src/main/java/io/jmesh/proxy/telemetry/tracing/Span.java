package io.jmesh.proxy.telemetry.tracing;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One sampled span of one proxy hop: created when a sampled request starts, tagged while it runs, ended once when
 * the stream completes and then handed to the exporter. Only sampled requests have one. Confined to the stream's
 * event loop until {@link #end}; read-only afterwards (the exporter reads it on its own thread).
 */
public final class Span {

    /** The span kind: egress hops are clients, ingress hops servers (Zipkin's and OpenTelemetry's kinds). */
    public enum Kind { CLIENT, SERVER }

    private final TraceContext context;
    private String name;
    private final Kind kind;
    /** Zipkin's {@code shared}: this server span reuses the client's span id ({@code shared_span_context}). */
    private final boolean shared;
    private final long startEpochMicros;
    private final long startNanos;
    private long durationMicros = -1;
    private boolean error;
    private final Map<String, String> tags = new LinkedHashMap<>();

    Span(TraceContext context, String name, Kind kind, boolean shared, long startEpochMicros, long startNanos) {
        this.context = context;
        this.name = name;
        this.kind = kind;
        this.shared = shared;
        this.startEpochMicros = startEpochMicros;
        this.startNanos = startNanos;
    }

    public TraceContext context() {
        return context;
    }

    public String name() {
        return name;
    }

    /** Renames the span (a route's {@code decorator.operation}). */
    public Span name(String name) {
        this.name = name;
        return this;
    }

    public Kind kind() {
        return kind;
    }

    public boolean shared() {
        return shared;
    }

    public long startEpochMicros() {
        return startEpochMicros;
    }

    /** Microseconds from start to {@link #end}, -1 before. */
    public long durationMicros() {
        return durationMicros;
    }

    /** Whether the span records a failure (Envoy's {@code error: true} tag). */
    public boolean error() {
        return error;
    }

    /** Sets a tag; a null value is ignored. */
    public Span tag(String key, String value) {
        if (value != null) {
            tags.put(key, value);
            if (key.equals("error") && value.equals("true")) {
                error = true;
            }
        }
        return this;
    }

    /** The tags, in the order they were set. */
    public Map<String, String> tags() {
        return tags;
    }

    /** Ends the span at {@code nowNanos} (a {@link System#nanoTime()} reading). */
    void end(long nowNanos) {
        durationMicros = Math.max(1, (nowNanos - startNanos) / 1000);
    }

    @Override
    public String toString() {
        return "Span[" + context.traceIdHex() + "/" + context.spanIdHex() + " " + kind + " " + name + "]";
    }
}

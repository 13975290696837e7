package io.jmesh.proxy.telemetry.tracing;

/**
 * Where finished spans go. {@link #export} is called on an event loop and must not block: implementations queue
 * the span and send batches from their own thread. Thread-safe.
 */
public interface SpanExporter extends AutoCloseable {

    /** Queues a finished span; drops it (and counts the drop) when the queue is full. */
    void export(Span span);

    /** Sends what is queued now, off the caller's thread. */
    void flush();

    /** Sends what is queued and stops. */
    @Override
    void close();
}

package io.jmesh.proxy.telemetry.accesslog;

import io.jmesh.proxy.stream.StreamInfo;

/**
 * A sink for finished requests or connections, built by {@link AccessLogs#create}. Implementations
 * format the entry on the caller's thread and hand the bytes to a background writer:
 * {@link #log(StreamInfo)} never blocks. The entry must not be modified after it is logged.
 */
public interface AccessLog {

    /** A log that drops every entry. */
    AccessLog NOOP = entry -> { };

    /** Records {@code entry}; never blocks and never throws for I/O problems. */
    void log(StreamInfo entry);
}

package io.jmesh.proxy.telemetry.accesslog;

/** Provisional; replaced by the telemetry branch. */
public interface AccessLog {
    void log(AccessLogEntry entry);
}

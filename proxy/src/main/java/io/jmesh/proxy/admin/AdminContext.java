package io.jmesh.proxy.admin;

/** Provisional; replaced by the telemetry branch. */
public interface AdminContext {
    io.jmesh.proxy.telemetry.Stats stats();
    com.google.protobuf.Message configDump();
    String clustersText();
    String serverState();
    long uptimeSeconds();
    String version();
    void setHealthCheckFailed(boolean failed);
    boolean healthCheckFailed();
    void quit();
}

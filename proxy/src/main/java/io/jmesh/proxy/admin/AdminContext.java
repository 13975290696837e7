package io.jmesh.proxy.admin;

import com.google.protobuf.Message;
import io.jmesh.proxy.telemetry.Stats;

/**
 * What the {@link AdminServer} reads from and acts on. Every method is called on the admin server's event
 * loop, so implementations must be cheap and non-blocking: return snapshots, and hand mutating actions
 * ({@link #quit()}) over to another thread.
 */
public interface AdminContext {

    /** The proxy's stat store. */
    Stats stats();

    /** An {@code envoy.admin.v3.ConfigDump} of the active config. */
    Message configDump();

    /** Envoy's {@code /clusters} text output. */
    String clustersText();

    /** {@code "LIVE"}, {@code "DRAINING"}, {@code "PRE_INITIALIZING"} or {@code "INITIALIZING"}. */
    String serverState();

    /** Seconds since the process started. */
    long uptimeSeconds();

    /** The proxy's version string. */
    String version();

    /** Sets the health check failed state ({@code POST /healthcheck/fail} and {@code /healthcheck/ok}). */
    void setHealthCheckFailed(boolean failed);

    /** Whether health checks are currently failed. */
    boolean healthCheckFailed();

    /** Starts a shutdown ({@code POST /quitquitquit}); must return without waiting for it. */
    void quit();
}

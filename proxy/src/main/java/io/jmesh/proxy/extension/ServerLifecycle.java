package io.jmesh.proxy.extension;

/**
 * The server's life as an extension sees it (Envoy's {@code Server::ServerLifecycleNotifier} and init manager):
 * hooks run once the listeners are bound ({@code init}), when the server starts draining, and when it shuts down.
 * Hooks run on the thread that starts, drains or closes the server and must not block long; a hook added after
 * its stage has passed is not run. Thread-safe.
 */
public interface ServerLifecycle {

    /** Runs {@code hook} once the server has bound its static listeners and is live. */
    void onInit(Runnable hook);

    /** Runs {@code hook} when the server begins to drain (before connections are asked to close). */
    void onDrain(Runnable hook);

    /** Runs {@code hook} when the server closes, before its event loops stop. */
    void onShutdown(Runnable hook);

    /**
     * Whether the server is failing health checks ({@code POST /healthcheck/fail} on the admin port, until
     * {@code /healthcheck/ok}), read by the {@code health_check} HTTP filter. False by default.
     */
    default boolean healthCheckFailed() {
        return false;
    }

    /** A lifecycle whose hooks never run (tests that build a listener without a server). */
    ServerLifecycle NONE = new ServerLifecycle() {
        @Override
        public void onInit(Runnable hook) {}

        @Override
        public void onDrain(Runnable hook) {}

        @Override
        public void onShutdown(Runnable hook) {}
    };
}

package io.jmesh.proxy.extension;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link ServerLifecycle} a server drives: it calls {@link #init}, {@link #drain} and {@link #shutdown}. */
public final class DefaultServerLifecycle implements ServerLifecycle {

    private static final Logger logger = LoggerFactory.getLogger(DefaultServerLifecycle.class);

    private final List<Runnable> init = new ArrayList<>();
    private final List<Runnable> drain = new ArrayList<>();
    private final List<Runnable> shutdown = new ArrayList<>();
    private int stage; // 0 starting, 1 live, 2 draining, 3 shut down
    private volatile boolean healthCheckFailed;

    @Override
    public boolean healthCheckFailed() {
        return healthCheckFailed;
    }

    /** Sets the state {@link #healthCheckFailed()} returns (the admin's {@code /healthcheck/fail} and {@code /ok}). */
    public void healthCheckFailed(boolean failed) {
        healthCheckFailed = failed;
    }

    @Override
    public synchronized void onInit(Runnable hook) {
        if (stage < 1) {
            init.add(hook);
        }
    }

    @Override
    public synchronized void onDrain(Runnable hook) {
        if (stage < 2) {
            drain.add(hook);
        }
    }

    @Override
    public synchronized void onShutdown(Runnable hook) {
        if (stage < 3) {
            shutdown.add(hook);
        }
    }

    /** Runs the init hooks (once). */
    public void init() {
        run(1, init);
    }

    /** Runs the drain hooks (once). */
    public void drain() {
        run(2, drain);
    }

    /** Runs the shutdown hooks (once). */
    public void shutdown() {
        run(3, shutdown);
    }

    private void run(int next, List<Runnable> hooks) {
        List<Runnable> todo;
        synchronized (this) {
            if (stage >= next) {
                return;
            }
            stage = next;
            todo = List.copyOf(hooks);
            hooks.clear();
        }
        for (Runnable r : todo) {
            try {
                r.run();
            } catch (RuntimeException e) {
                logger.warn("lifecycle hook {} failed: {}", r, e.toString());
            }
        }
    }
}

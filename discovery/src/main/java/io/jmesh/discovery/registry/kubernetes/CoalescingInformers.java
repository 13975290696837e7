package io.jmesh.discovery.registry.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A group of fabric8 informers whose every event schedules one rebuild of a whole view on the group's own
 * thread (istiod's controllers queue work the same way): events that arrive while a rebuild waits or runs are
 * folded into the next one, and the informers' threads never wait for it. Shared by the Kubernetes service
 * registry and the Istio config store.
 *
 * <p>A failed watch (API server down, RBAC not granted yet) is retried in the background with a warning, as
 * istiod does; an optional resource whose list answers 404 (its CRD is not installed) counts as synced with
 * no objects, with a warning. {@link #hasSynced()} turns true after the first rebuild that ran once every
 * informer had listed its objects; a rebuild that throws keeps the owner's last view and is logged.
 *
 * <p>Thread-safe; the rebuild runs on the group's thread only, one at a time.
 */
public final class CoalescingInformers implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(CoalescingInformers.class);

    private final String name;
    private final Runnable rebuild;
    private final Supplier<String> summary;
    private final ExecutorService executor;
    private final List<SharedIndexInformer<?>> informers = new CopyOnWriteArrayList<>();
    private final Set<SharedIndexInformer<?>> absent = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean rebuildPending = new AtomicBoolean();
    private volatile boolean builtAfterSync;
    private volatile boolean closed;

    /**
     * Creates an empty group; {@link #watch} adds its informers and {@link #start()} starts them.
     *
     * @param name    the group's thread name and the prefix of its log lines, e.g. {@code kubernetes-registry}
     * @param rebuild builds the owner's view from the informers' stores and tells the owner's listeners
     * @param summary describes the view for the log line written once synced, e.g. {@code 3 services}
     */
    public CoalescingInformers(String name, Runnable rebuild, Supplier<String> summary) {
        this.name = Objects.requireNonNull(name, "name");
        this.rebuild = Objects.requireNonNull(rebuild, "rebuild");
        this.summary = Objects.requireNonNull(summary, "summary");
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Makes every event of {@code informer} schedule a rebuild; {@link #start()} starts it.
     *
     * @param what names the watched resource in warnings, e.g. {@code Pod}
     * @param crd  for an optional resource, its CRD's name ({@code virtualservices.networking.istio.io}): a 404
     *             then means "not installed" and the informer stops; {@code null} for a resource that must exist
     * @return {@code informer}
     */
    public <T extends HasMetadata> SharedIndexInformer<T> watch(SharedIndexInformer<T> informer, String what,
                                                                String crd) {
        informer.addEventHandler(new ResourceEventHandler<T>() {
            @Override
            public void onAdd(T obj) {
                scheduleRebuild();
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                scheduleRebuild();
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                scheduleRebuild();
            }
        });
        informer.exceptionHandler((started, t) -> {
            if (crd != null && t instanceof KubernetesClientException k && k.getCode() == 404) {
                if (absent.add(informer)) {
                    logger.warn("{}: no {} resources on the API server (CRD {} not installed?); not reading them",
                            name, what, crd);
                    scheduleRebuild();
                }
                return false;
            }
            logger.warn("{}: watching {} failed, retrying: {}", name, what, t.toString());
            return !closed;
        });
        informers.add(informer);
        return informer;
    }

    /**
     * Starts every informer added, at once, so that none is seen synced before the others are even watched;
     * returns without waiting for them.
     */
    public void start() {
        informers.forEach(SharedIndexInformer::start);
    }

    /**
     * Returns whether every informer has listed its objects (or is absent) and a rebuild ran since; the first
     * call that finds them listed schedules that rebuild, for an empty cluster sends no events.
     */
    public boolean hasSynced() {
        if (builtAfterSync) {
            return true;
        }
        if (informersSynced()) {
            scheduleRebuild();
        }
        return false;
    }

    /** Stops the informers and the group's thread; the client stays open. */
    @Override
    public void close() {
        closed = true;
        informers.forEach(SharedIndexInformer::close);
        executor.shutdownNow();
    }

    private boolean informersSynced() {
        for (SharedIndexInformer<?> informer : informers) {
            if (!absent.contains(informer) && !informer.hasSynced()) {
                return false;
            }
        }
        return true;
    }

    private void scheduleRebuild() {
        if (!closed && rebuildPending.compareAndSet(false, true)) {
            try {
                executor.execute(this::rebuild);
            } catch (RejectedExecutionException e) {
                // closed meanwhile
            }
        }
    }

    private void rebuild() {
        rebuildPending.set(false);
        boolean synced = informersSynced();
        try {
            rebuild.run();
        } catch (RuntimeException e) {
            logger.warn("{}: rebuilding the view failed; keeping the last one", name, e);
            return;
        }
        if (synced && !builtAfterSync) {
            builtAfterSync = true;
            logger.info("{}: synced; {}", name, summary.get());
        }
    }
}

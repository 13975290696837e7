package io.jmesh.discovery.server;

import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connections waiting for a push (Istio's {@code PushQueue}), served by a fixed number of worker
 * threads: that number bounds the pushes computed at once. A connection queued again while it is
 * waiting is queued once (it will get the newest snapshot anyway); one queued while its push runs
 * is pushed again afterwards, never by two workers at once.
 */
final class PushQueue implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(PushQueue.class);

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private final LinkedHashSet<XdsConnection> pending = new LinkedHashSet<>();
    private final Set<XdsConnection> running = new HashSet<>();
    private final Thread[] workers;
    private volatile boolean closed;

    PushQueue(int concurrency, Consumer<XdsConnection> pusher) {
        workers = new Thread[concurrency];
        for (int i = 0; i < concurrency; i++) {
            workers[i] = new Thread(() -> work(pusher), "jmesh-xds-push-" + i);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    void enqueue(XdsConnection c) {
        lock.lock();
        try {
            if (pending.add(c)) {
                ready.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Returns how many connections wait for a push. */
    int size() {
        lock.lock();
        try {
            return pending.size();
        } finally {
            lock.unlock();
        }
    }

    private void work(Consumer<XdsConnection> pusher) {
        while (!closed) {
            XdsConnection c;
            lock.lock();
            try {
                c = null;
                while (!closed && (c = next()) == null) {
                    ready.await();
                }
                if (c == null) {
                    return;
                }
                running.add(c);
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            try {
                pusher.accept(c);
            } catch (RuntimeException e) {
                logger.warn("{} push failed", c, e);
            } finally {
                lock.lock();
                try {
                    running.remove(c);
                    if (!pending.isEmpty()) {
                        ready.signal();
                    }
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    private XdsConnection next() {
        for (Iterator<XdsConnection> it = pending.iterator(); it.hasNext(); ) {
            XdsConnection c = it.next();
            if (!running.contains(c)) {
                it.remove();
                return c;
            }
        }
        return null;
    }

    @Override
    public void close() {
        closed = true;
        lock.lock();
        try {
            ready.signalAll();
        } finally {
            lock.unlock();
        }
        for (Thread t : workers) {
            t.interrupt();
        }
    }
}

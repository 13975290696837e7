package io.jmesh.proxy.telemetry;

import java.util.concurrent.atomic.AtomicLong;

/** A value that goes up and down (active connections, active requests). Thread-safe. */
public final class Gauge {

    private final String name;
    private final AtomicLong value = new AtomicLong();

    Gauge(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public void inc() {
        value.incrementAndGet();
    }

    public void dec() {
        value.decrementAndGet();
    }

    public void set(long v) {
        value.set(v);
    }

    public long get() {
        return value.get();
    }
}

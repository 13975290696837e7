package io.jmesh.proxy.telemetry;

import java.util.concurrent.atomic.LongAdder;

/** A monotonically increasing counter with an Envoy stat name. Thread-safe and lock-free. */
public final class Counter {

    private final String name;
    private final LongAdder value = new LongAdder();

    Counter(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public void inc() {
        value.increment();
    }

    public void add(long delta) {
        value.add(delta);
    }

    public long get() {
        return value.sum();
    }
}

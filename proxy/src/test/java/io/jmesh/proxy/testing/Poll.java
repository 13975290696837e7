package io.jmesh.proxy.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.BooleanSupplier;

/** Waits for an observable condition, bounded (10 s), instead of sleeping a guessed time. */
public final class Poll {

    private Poll() {}

    public static void until(BooleanSupplier condition, String what) throws InterruptedException {
        until(condition, what, java.time.Duration.ofSeconds(10));
    }

    /**
     * As {@link #until(BooleanSupplier, String)} with a longer bound, for what takes long on a busy machine (a mesh
     * starting: certificates signed, first pushes); checks every 10 ms.
     */
    public static void until(BooleanSupplier condition, String what, java.time.Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what + ": not reached within " + timeout.toSeconds() + " s");
    }
}

package io.jmesh.proxy.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.BooleanSupplier;

/**
 * Waits for an observable condition, bounded (30 s), instead of sleeping a guessed time. The bound only says when to
 * give up: a condition that holds returns at once, so a generous bound costs a passing test nothing, while 10 s made
 * the end-to-end security tests (a mesh starting: certificates signed, first pushes) fail on a machine at load ~25.
 */
public final class Poll {

    private Poll() {}

    public static void until(BooleanSupplier condition, String what) throws InterruptedException {
        until(condition, what, java.time.Duration.ofSeconds(30));
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

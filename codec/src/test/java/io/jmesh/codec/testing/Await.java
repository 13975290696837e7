package io.jmesh.codec.testing;

/** Waits for an event of a real peer. The bound only stops a hung test; it is not a timing assertion. */
public final class Await {

    /** A condition that may throw. */
    public interface Condition {
        boolean get() throws Exception;
    }

    private Await() {}

    /** Polls {@code condition} until it holds, or fails after 15 seconds. */
    public static void until(Condition condition) throws Exception {
        for (int i = 0; i < 300; i++) {
            if (condition.get()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("condition not met within 15 s");
    }
}

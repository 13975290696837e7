package io.jmesh.proxy.filter;

/** What every HTTP filter instance has, whichever direction it filters. */
public interface StreamFilterBase {

    /**
     * The stream has ended (completed, answered locally or reset): cancel timers and release what the filter
     * holds. Called exactly once per filter instance, on the stream's event loop, after which no other method is
     * called.
     */
    default void onDestroy() {}
}

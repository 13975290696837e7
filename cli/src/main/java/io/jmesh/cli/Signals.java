package io.jmesh.cli;

import sun.misc.Signal;

/** SIGTERM and SIGINT handling, so that a drained proxy exits 0 rather than 143. */
final class Signals {

    private Signals() {}

    static void onTerm(Runnable action) {
        Signal.handle(new Signal("TERM"), s -> action.run());
        Signal.handle(new Signal("INT"), s -> action.run());
    }
}

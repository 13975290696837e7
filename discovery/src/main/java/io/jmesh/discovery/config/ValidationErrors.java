package io.jmesh.discovery.config;

import java.util.ArrayList;
import java.util.List;

import io.jmesh.proxy.config.ConfigException;

/**
 * Collects every problem of one object instead of stopping at the first, as istiod's validation appends to a
 * multierror: a problem found in place is {@link #add added}, a check that throws its problem runs through
 * {@link #check}, and {@link #throwIfAny()} reports them all in one {@link ConfigException} whose message is the
 * problems in field order, joined by {@code "; "}. Not thread-safe; one per validation.
 */
final class ValidationErrors {

    /** One check that throws its problem as {@code field.path: value (expected: ...)}. */
    @FunctionalInterface
    interface Check {
        void run() throws ConfigException;
    }

    private final List<String> messages = new ArrayList<>();

    /** Keeps {@code problem}, {@code field.path: value (expected: ...)}, unless the same one is already kept. */
    void add(String problem) {
        if (!messages.contains(problem)) { // a bad key checked for values and notValues: once
            messages.add(problem);
        }
    }

    /** Runs {@code check}, keeping its problem (if any) and going on. */
    void check(Check check) {
        try {
            check.run();
        } catch (ConfigException e) {
            add(e.getMessage());
        }
    }

    /** Throws one exception naming every problem collected; does nothing when there is none. */
    void throwIfAny() throws ConfigException {
        if (!messages.isEmpty()) {
            throw new ConfigException(String.join("; ", messages));
        }
    }
}

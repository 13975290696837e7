package io.jmesh.proxy.telemetry.tracing;

import io.netty.handler.codec.http.HttpHeaders;

/**
 * Where trace context is read from and written to: HTTP request headers, a Bolt header map, Dubbo attachments.
 * Names are lower-case. Used on the request's event loop only.
 */
public interface TraceCarrier {

    /** The value of {@code name}, or null. */
    String get(CharSequence name);

    /** Sets {@code name}, replacing any value. */
    void set(CharSequence name, String value);

    /** Removes {@code name}; a carrier that cannot remove entries ignores this. */
    void remove(CharSequence name);

    /** A carrier over HTTP headers. */
    static TraceCarrier of(HttpHeaders h) {
        return new TraceCarrier() {
            @Override
            public String get(CharSequence name) {
                return h.get(name);
            }

            @Override
            public void set(CharSequence name, String value) {
                h.set(name, value);
            }

            @Override
            public void remove(CharSequence name) {
                h.remove(name);
            }
        };
    }
}

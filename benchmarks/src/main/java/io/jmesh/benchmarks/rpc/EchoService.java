package io.jmesh.benchmarks.rpc;

import java.util.concurrent.CompletableFuture;

/** The service the benchmark's real SOFARPC and Dubbo providers export: returns its argument. */
public interface EchoService {
    /** Returns {@code payload} unchanged. */
    String echo(String payload);

    /** Dubbo's asynchronous form of {@link #echo} (a method returning a future is async in Dubbo 3). */
    default CompletableFuture<String> echoAsync(String payload) {
        return CompletableFuture.completedFuture(echo(payload));
    }
}

package io.jmesh.security.agent;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Sends a CSR to a certificate authority and returns the PEM chain it signs: leaf first, root last. */
public interface CaClient extends AutoCloseable {

    /**
     * Asks for a certificate. The future fails if the CA cannot be reached or refuses; it completes on a thread of
     * the client's choosing.
     *
     * @param csrPem a PEM PKCS#10 request; the only thing about the key that leaves the agent
     * @param ttl    the validity asked for
     */
    CompletableFuture<List<String>> sign(String csrPem, Duration ttl);

    @Override
    void close();
}

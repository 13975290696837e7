package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeAll;

import io.netty.handler.ssl.SslProvider;

/**
 * {@link MutualTlsBySdsTest} on the OpenSSL engine that {@code jmesh proxy} ships with: SPIFFE SAN checks both
 * ways through the engine's trust manager wrapper.
 */
class OpenSslMutualTlsBySdsTest extends MutualTlsBySdsTest {

    @BeforeAll
    static void onOpenSsl() {
        assertEquals(SslProvider.OPENSSL, TlsEngine.provider(), "the engine jmesh proxy runs with");
    }
}

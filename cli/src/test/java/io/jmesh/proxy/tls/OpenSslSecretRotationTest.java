package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.BeforeAll;

import io.netty.handler.ssl.SslProvider;

/**
 * {@link SecretRotationTest} on the OpenSSL engine that {@code jmesh proxy} ships with (netty-tcnative is on
 * this module's class path): rotation by watched files, over ADS and over a Unix-socket SDS server.
 */
class OpenSslSecretRotationTest extends SecretRotationTest {

    @BeforeAll
    static void onOpenSsl() {
        assertEquals(SslProvider.OPENSSL, TlsEngine.provider(), "the engine jmesh proxy runs with");
    }
}

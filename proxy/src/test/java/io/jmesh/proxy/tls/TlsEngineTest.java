package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * {@link TlsEngine}: the proxy module's tests run without {@code netty-tcnative} on the class path, the case of
 * a machine where the native library cannot load: every choice falls back to the JDK engine, and the proxy's
 * TLS tests run on it.
 */
class TlsEngineTest {

    @Test
    void withoutTheNativeLibraryEveryChoiceIsTheJdkEngine() {
        assertEquals(false, OpenSsl.isAvailable(), "this module's tests run without netty-tcnative");
        assertEquals(SslProvider.JDK, TlsEngine.choose("openssl"));
        assertEquals(SslProvider.JDK, TlsEngine.choose("auto"));
        assertEquals(SslProvider.JDK, TlsEngine.choose("JDK"));
        assertEquals(SslProvider.JDK, TlsEngine.choose("boringssl-please"));
        assertEquals(SslProvider.JDK, TlsEngine.provider());
    }
}

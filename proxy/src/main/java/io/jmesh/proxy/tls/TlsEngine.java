package io.jmesh.proxy.tls;

import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * The TLS engine of every context the proxy builds, chosen once per process and logged once: Netty's OpenSSL
 * engine (BoringSSL from {@code netty-tcnative-boringssl-static}) when its native library loads, else the JDK
 * engine. The system property {@value #PROPERTY} ({@code auto}, {@code openssl} or {@code jdk}; the CLI sets it
 * from {@code --tls-engine}) overrides the choice; {@code openssl} where the library cannot load falls back to
 * the JDK with a warning, so a proxy always starts. See {@code docs/performance.md}, "TLS engine", for the
 * figures behind the default.
 */
public final class TlsEngine {

    private static final Logger logger = LoggerFactory.getLogger(TlsEngine.class);

    /** The system property that overrides the choice. */
    public static final String PROPERTY = "jmesh.tls.engine";

    private static final SslProvider PROVIDER = choose(System.getProperty(PROPERTY, "auto"));

    private TlsEngine() {}

    /** The provider every {@code SslContext} of this process uses. */
    public static SslProvider provider() {
        return PROVIDER;
    }

    static SslProvider choose(String wanted) {
        String w = wanted.trim().toLowerCase(Locale.ROOT);
        switch (w) {
            case "jdk":
                logger.info("TLS engine: JDK ({}={})", PROPERTY, wanted);
                return SslProvider.JDK;
            case "openssl":
            case "auto":
                if (openSslAvailable()) {
                    logger.info("TLS engine: OpenSSL ({}, {}={})", OpenSsl.versionString(), PROPERTY, w);
                    return SslProvider.OPENSSL;
                }
                if (w.equals("openssl")) {
                    logger.warn("TLS engine: JDK; {}=openssl but the native library does not load: {}", PROPERTY,
                                String.valueOf(OpenSsl.unavailabilityCause()));
                } else {
                    logger.info("TLS engine: JDK (the OpenSSL engine is not available: {})",
                                String.valueOf(OpenSsl.unavailabilityCause()));
                }
                return SslProvider.JDK;
            default:
                logger.warn("TLS engine: JDK; {}={} is not auto, openssl or jdk", PROPERTY, wanted);
                return SslProvider.JDK;
        }
    }

    private static boolean openSslAvailable() {
        try {
            return OpenSsl.isAvailable() && OpenSsl.supportsKeyManagerFactory();
        } catch (LinkageError e) {
            return false;
        }
    }
}

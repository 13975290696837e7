package io.jmesh.proxy.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import com.google.protobuf.ByteString;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.ssl.SslContext;

/**
 * Netty {@link SslContext}s shared by the TLS contexts ({@link TlsContextProvider}s) whose inputs are equal: the
 * same certificate and key, the same validation context (trust bundle and subject alt name matchers), the same
 * ALPN, TLS parameters and other settings of the {@code UpstreamTlsContext} or {@code DownstreamTlsContext} except
 * {@code sni} (which is given per connection). A thousand {@code ISTIO_MUTUAL} clusters of one proxy, which all use
 * the SDS secrets {@code default} and {@code ROOTCA}, then hold one context instead of a thousand (each costs tens
 * of KiB). Files named by the secrets count by their contents, so a rewritten file makes a new key.
 *
 * <p>Reference-counted: each provider holds the entry of its current context; a rotation acquires the new one and
 * releases the old one, and a provider no longer reachable releases its entry (a {@link java.lang.ref.Cleaner}),
 * so an entry lives while some cluster or listener uses it. Thread-safe.
 */
public final class SslContextCache {

    /** Builds the context of a key not in the cache. */
    interface Builder {
        SslContext build() throws ConfigException;
    }

    /** A shared context and the number of providers holding it. */
    static final class Entry {
        private final Object key;
        private final SslContext context;
        private int references;

        private Entry(Object key, SslContext context) {
            this.key = key;
            this.context = context;
        }

        SslContext context() {
            return context;
        }
    }

    /** The cache of {@link SecretManager}s that have none of their own. */
    static final SslContextCache PROCESS = new SslContextCache();

    private final Map<Object, Entry> entries = new HashMap<>();
    private long builds;
    private io.jmesh.proxy.telemetry.Gauge activeGauge;
    private io.jmesh.proxy.telemetry.Counter builtCounter;

    /**
     * Reports this cache in {@code stats}: gauge {@code server.ssl_contexts.active} (distinct contexts in use) and
     * counter {@code server.ssl_contexts.built} (contexts built; clusters and listeners that share one build none).
     */
    public synchronized void observe(io.jmesh.proxy.telemetry.Stats stats) {
        activeGauge = stats.gauge("server.ssl_contexts.active");
        builtCounter = stats.counter("server.ssl_contexts.built");
        activeGauge.set(entries.size());
    }

    /** Returns the entry of {@code key}, building its context with {@code builder} when there is none; counted. */
    synchronized Entry acquire(Object key, Builder builder) throws ConfigException {
        Entry e = entries.get(key);
        if (e == null) {
            e = new Entry(key, builder.build());
            builds++;
            entries.put(key, e);
            if (builtCounter != null) {
                builtCounter.inc();
                activeGauge.set(entries.size());
            }
        }
        e.references++;
        return e;
    }

    /** Gives back an entry from {@link #acquire}; the last release removes it. */
    synchronized void release(Entry e) {
        if (--e.references == 0) {
            entries.remove(e.key, e);
            if (activeGauge != null) {
                activeGauge.set(entries.size());
            }
        }
    }

    /** Distinct contexts in use now. */
    public synchronized int size() {
        return entries.size();
    }

    /** Contexts built so far (a key found in the cache builds none). */
    public synchronized long builds() {
        return builds;
    }

    /**
     * The key of the context built from {@code settings} (the config without its secrets, with whatever else the
     * context depends on), {@code cert} and {@code validation} (each may be null), their files read; null when a
     * file cannot be read (the caller builds an unshared context, which reports the error by field).
     */
    static Object key(Object settings, TlsCertificate cert, CertificateValidationContext validation) {
        try {
            TlsCertificate c = cert == null ? null : cert.toBuilder()
                    .setCertificateChain(inline(cert.getCertificateChain()))
                    .setPrivateKey(inline(cert.getPrivateKey()))
                    .build();
            CertificateValidationContext v = validation == null ? null : validation.toBuilder()
                    .setTrustedCa(inline(validation.getTrustedCa()))
                    .build();
            return new Key(settings, c, v);
        } catch (IOException e) {
            return null;
        }
    }

    private static DataSource inline(DataSource d) throws IOException {
        if (d.getSpecifierCase() != DataSource.SpecifierCase.FILENAME) {
            return d;
        }
        return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(Files.readAllBytes(Path.of(d.getFilename()))))
                .build();
    }

    private record Key(Object settings, TlsCertificate cert, CertificateValidationContext validation) {}
}

package io.jmesh.proxy.tls;

import java.util.concurrent.CompletableFuture;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.jmesh.proxy.config.ConfigException;

/**
 * Holds the proxy's {@code envoy.extensions.transport_sockets.tls.v3.Secret}s, as Envoy's secret manager does:
 * static ones from the bootstrap's {@code static_resources.secrets}, and dynamic ones from an
 * {@code sds_config} (a file holding a {@code DiscoveryResponse}, ADS, or an SDS server reached over gRPC, TCP
 * or a Unix domain socket). TLS contexts ({@link ServerTlsProvider}, {@link ClientTlsProvider}) subscribe to
 * the secrets they name and rebuild their {@code SslContext} when one changes, so that new connections see a
 * rotated certificate while open ones keep theirs.
 *
 * <p>Thread-safe. Subscriptions are shared: two TLS contexts naming the same secret from the same source see
 * one {@link Subscription}.
 */
public interface SecretManager {

    /** One secret of one name from one source; its value changes over time. */
    interface Subscription {
        /** The secret's name ({@code SdsSecretConfig.name}). */
        String name();

        /** The current secret, or null while none has arrived. */
        Secret current();

        /**
         * Calls {@code listener} after every change of {@link #current()} and after a file the secret names
         * (a {@code DataSource.filename}) changed on disk, on the thread that saw the change (never an event
         * loop). The subscription holds the listener weakly: it stays registered while its owner is reachable.
         */
        void addListener(Listener listener);

        /** Completes when the first value arrives. */
        CompletableFuture<Void> ready();
    }

    /** Told when a secret changes; see {@link Subscription#addListener}. */
    interface Listener {
        void onSecretUpdate(Subscription subscription);
    }

    /**
     * Subscribes to the secret named by {@code config}: without {@code sds_config}, the static secret of that
     * name (an error when there is none); with one, the secret from that source (it may arrive later).
     *
     * @param path names {@code config} in errors, e.g.
     *             {@code common_tls_context.tls_certificate_sds_secret_configs[0]}
     * @throws ConfigException if the config names no secret, a missing static secret or an unsupported source
     */
    Subscription subscribe(SdsSecretConfig config, String path) throws ConfigException;

    /**
     * A subscription whose value is {@code secret} for ever, except that the files it names are watched (a
     * {@code TlsCertificate}'s {@code watched_directory}, or every {@code filename} data source): inline
     * {@code tls_certificates} and {@code validation_context}s go through this so that rewriting their files
     * rotates them too.
     */
    Subscription fixed(Secret secret);

    /**
     * Where the TLS contexts built from this manager's secrets share their {@code SslContext}s: contexts of equal
     * inputs (same certificate, trust bundle, ALPN, ...) get one. The default is one cache for the whole process.
     */
    default SslContextCache contextCache() {
        return SslContextCache.PROCESS;
    }

    /** A manager with no static secrets and no SDS (only file sources and inline secrets work). */
    static SecretManager none() {
        return DefaultSecretManager.NONE;
    }
}

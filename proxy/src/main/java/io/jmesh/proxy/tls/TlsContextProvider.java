package io.jmesh.proxy.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.ssl.SslContext;

/**
 * A TLS context that follows its secrets: the {@link SslContext} of the current certificate and validation
 * context, rebuilt whenever one of them changes (Envoy's {@code onAddOrUpdateSecret}; gRPC-Java's
 * {@code DynamicSslContextProvider}). Connections take the context current when they start, so a rotation
 * reaches new connections and leaves open ones alone. While a secret has not arrived there is no context
 * ({@link #ready()} is not done): the listener or cluster using it keeps warming.
 *
 * <p>A secret update that does not make a usable context (a half-written file, a key that does not match its
 * certificate, a secret of the wrong kind) is logged and the previous context keeps serving.
 */
public abstract class TlsContextProvider implements SecretManager.Listener {

    private static final Logger logger = LoggerFactory.getLogger(TlsContextProvider.class);

    private final SecretManager.Subscription certificate;
    private final String certificatePath;
    private final SecretManager.Subscription validation;
    private final CertificateValidationContext defaultValidation;
    private final String validationPath;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final boolean noFetchTimeout;
    private volatile SslContext context;
    private final SslContextCache cache;
    /** The cache entry of {@link #context}, null when it is not shared; released by {@link #CLEANER} at the end. */
    private final java.util.concurrent.atomic.AtomicReference<SslContextCache.Entry> held =
            new java.util.concurrent.atomic.AtomicReference<>();

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    TlsContextProvider(CommonTlsContext common, SecretManager secrets, boolean server) throws ConfigException {
        String c = "common_tls_context";
        cache = secrets.contextCache();
        SslContextCache cacheRef = cache;
        java.util.concurrent.atomic.AtomicReference<SslContextCache.Entry> heldRef = held;
        CLEANER.register(this, () -> {
            SslContextCache.Entry e = heldRef.getAndSet(null);
            if (e != null) {
                cacheRef.release(e);
            }
        });
        noFetchTimeout = noFetchTimeout(common);
        if (common.hasTlsCertificateProviderInstance() || hasLegacyProvider(common)) {
            throw new ConfigException(c + ".tls_certificate_provider_instance: set (expected: tls_certificates or "
                                      + "tls_certificate_sds_secret_configs)");
        }
        if (common.getTlsCertificatesCount() + common.getTlsCertificateSdsSecretConfigsCount() > 1) {
            throw new ConfigException(c + ".tls_certificates: " + common.getTlsCertificatesCount()
                                      + " certificates and " + common.getTlsCertificateSdsSecretConfigsCount()
                                      + " tls_certificate_sds_secret_configs (expected: one certificate in all)");
        }
        if (common.getTlsCertificatesCount() == 1) {
            certificatePath = c + ".tls_certificates[0]";
            certificate = secrets.fixed(Secret.newBuilder().setName(certificatePath)
                                              .setTlsCertificate(common.getTlsCertificates(0)).build());
        } else if (common.getTlsCertificateSdsSecretConfigsCount() == 1) {
            String p = c + ".tls_certificate_sds_secret_configs[0]";
            certificate = secrets.subscribe(common.getTlsCertificateSdsSecretConfigs(0), p);
            certificatePath = "secret " + certificate.name() + ".tls_certificate";
        } else if (server) {
            throw new ConfigException(c + ".tls_certificates: [] (expected: one certificate and key, or one "
                                      + "tls_certificate_sds_secret_configs)");
        } else {
            certificate = null;
            certificatePath = null;
        }
        switch (common.getValidationContextTypeCase()) {
            case VALIDATION_CONTEXT:
                validationPath = c + ".validation_context";
                validation = secrets.fixed(Secret.newBuilder().setName(validationPath)
                                                 .setValidationContext(common.getValidationContext()).build());
                defaultValidation = null;
                break;
            case VALIDATION_CONTEXT_SDS_SECRET_CONFIG:
                validation = secrets.subscribe(common.getValidationContextSdsSecretConfig(),
                                               c + ".validation_context_sds_secret_config");
                validationPath = "secret " + validation.name() + ".validation_context";
                defaultValidation = null;
                break;
            case COMBINED_VALIDATION_CONTEXT: {
                CommonTlsContext.CombinedCertificateValidationContext combined = common.getCombinedValidationContext();
                defaultValidation = combined.getDefaultValidationContext();
                String p = c + ".combined_validation_context";
                if (combined.hasValidationContextSdsSecretConfig()) {
                    validation = secrets.subscribe(combined.getValidationContextSdsSecretConfig(),
                                                   p + ".validation_context_sds_secret_config");
                    validationPath = p + " (secret " + validation.name() + ')';
                } else {
                    validationPath = p + ".default_validation_context";
                    validation = secrets.fixed(Secret.newBuilder().setName(validationPath)
                                                     .setValidationContext(defaultValidation).build());
                }
                break;
            }
            case VALIDATIONCONTEXTTYPE_NOT_SET:
                validation = null;
                validationPath = null;
                defaultValidation = null;
                break;
            default:
                throw new ConfigException(c + "." + common.getValidationContextTypeCase().name()
                                                          .toLowerCase(java.util.Locale.ROOT)
                                          + ": set (expected: validation_context, "
                                          + "validation_context_sds_secret_config or combined_validation_context)");
        }
    }

    /** Whether an SDS config says {@code initial_fetch_timeout: 0s}: wait for the secret without a deadline. */
    private static boolean noFetchTimeout(CommonTlsContext common) {
        List<io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> configs =
                new ArrayList<>(common.getTlsCertificateSdsSecretConfigsList());
        if (common.hasValidationContextSdsSecretConfig()) {
            configs.add(common.getValidationContextSdsSecretConfig());
        }
        if (common.hasCombinedValidationContext()
            && common.getCombinedValidationContext().hasValidationContextSdsSecretConfig()) {
            configs.add(common.getCombinedValidationContext().getValidationContextSdsSecretConfig());
        }
        for (var c : configs) {
            if (c.hasSdsConfig() && c.getSdsConfig().hasInitialFetchTimeout()
                && c.getSdsConfig().getInitialFetchTimeout().getSeconds() == 0
                && c.getSdsConfig().getInitialFetchTimeout().getNanos() == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether this context still waits for a secret whose {@code sds_config} says {@code initial_fetch_timeout: 0s}
     * (Istio's setting): its listener or cluster then warms without a deadline, as in Envoy.
     */
    public final boolean awaitsSecretsWithoutDeadline() {
        return noFetchTimeout && !ready.isDone();
    }

    @SuppressWarnings("deprecation") // legacy field: refused by name
    private static boolean hasLegacyProvider(CommonTlsContext common) {
        return common.hasTlsCertificateCertificateProviderInstance() || common.hasTlsCertificateCertificateProvider();
    }

    /**
     * Subscribes to the secrets and builds the first context when they are all here. Errors in secrets present
     * now (inline or static ones, files named by them) are config errors: the listener or cluster is rejected.
     */
    final void start() throws ConfigException {
        for (SecretManager.Subscription s : subscriptions()) {
            s.addListener(this);
        }
        if (allPresent()) {
            synchronized (this) {
                context = buildShared();
            }
            ready.complete(null);
        }
    }

    private List<SecretManager.Subscription> subscriptions() {
        List<SecretManager.Subscription> out = new ArrayList<>(2);
        if (certificate != null) {
            out.add(certificate);
        }
        if (validation != null) {
            out.add(validation);
        }
        return out;
    }

    private boolean allPresent() {
        for (SecretManager.Subscription s : subscriptions()) {
            if (s.current() == null) {
                return false;
            }
        }
        return true;
    }

    @Override
    public final void onSecretUpdate(SecretManager.Subscription subscription) {
        synchronized (this) {
            if (!allPresent()) {
                return;
            }
            try {
                SslContext next = buildShared();
                boolean first = context == null;
                context = next;
                ready.complete(null);
                logger.info("TLS context {} with secret {}", first ? "ready" : "rotated", subscription.name());
            } catch (ConfigException e) {
                logger.warn("secret {}: update rejected, keeping the previous TLS context: {}", subscription.name(),
                            e.getMessage());
            }
        }
    }

    /** Builds a context from the current secrets; all are present. */
    abstract SslContext build() throws ConfigException;

    /**
     * What the context depends on besides the certificate and validation context: the config with its secrets
     * cleared and without per-connection settings (SNI), plus anything else {@link #build} reads.
     */
    abstract Object sharedSettings();

    /**
     * The context of the current secrets from the {@link SslContextCache}, built only when no other provider
     * has one of the same inputs; the entry held before is released. Called with this provider's lock held.
     */
    private SslContext buildShared() throws ConfigException {
        Object key = SslContextCache.key(sharedSettings(), certificate(), validation());
        if (key == null) {
            return build();
        }
        SslContextCache.Entry next = cache.acquire(key, this::build);
        SslContextCache.Entry previous = held.getAndSet(next);
        if (previous != null) {
            cache.release(previous);
        }
        return next.context();
    }

    /** {@code common} without the certificate and validation settings that the cache key holds resolved. */
    static CommonTlsContext withoutSecrets(CommonTlsContext common) {
        // the merged validation context is part of the key; where it comes from (any case of the oneof) is not
        return common.toBuilder().clearTlsCertificates().clearTlsCertificateSdsSecretConfigs()
                .clearValidationContext().clearValidationContextSdsSecretConfig().clearCombinedValidationContext()
                .build();
    }

    /** The current certificate, or null when the context has none (an upstream context without a client cert). */
    final TlsCertificate certificate() throws ConfigException {
        if (certificate == null) {
            return null;
        }
        Secret s = certificate.current();
        if (!s.hasTlsCertificate()) {
            throw new ConfigException(certificatePath + ": " + s.getTypeCase() + " (expected: a tls_certificate)");
        }
        return s.getTlsCertificate();
    }

    final String certificatePath() {
        return certificatePath;
    }

    /**
     * The current validation context, or null. With {@code combined_validation_context} it is
     * {@code default_validation_context} merged with the secret (the secret's fields win, repeated fields such
     * as SAN matchers add up), as in Envoy.
     */
    final CertificateValidationContext validation() throws ConfigException {
        if (validation == null) {
            return null;
        }
        Secret s = validation.current();
        if (!s.hasValidationContext()) {
            throw new ConfigException(validationPath + ": " + s.getTypeCase() + " (expected: a validation_context)");
        }
        if (defaultValidation == null || s.getValidationContext() == defaultValidation) {
            return s.getValidationContext();
        }
        return defaultValidation.toBuilder().mergeFrom(s.getValidationContext()).build();
    }

    final String validationPath() {
        return validationPath;
    }

    /** The context for a new connection, or null while a secret is awaited. */
    public final SslContext current() {
        return context;
    }

    /** Completes when every secret has arrived and the first context is built. */
    public final CompletableFuture<Void> ready() {
        return ready;
    }
}

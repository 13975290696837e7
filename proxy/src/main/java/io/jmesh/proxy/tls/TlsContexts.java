package io.jmesh.proxy.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

/**
 * Builds Netty {@link SslContext}s (engine per {@link TlsEngine}) from Envoy's TLS transport socket configs
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/tls.proto">tls.proto</a>).
 *
 * <p>Supported: {@code common_tls_context.tls_certificates[0]} ({@code certificate_chain} and
 * {@code private_key} as {@code filename}, {@code inline_string}, {@code inline_bytes} or
 * {@code environment_variable}; PEM, key in PKCS#8 or, for RSA, PKCS#1 when the JDK can read it),
 * {@code validation_context.trusted_ca}, {@code validation_context.match_typed_subject_alt_names} and the
 * legacy {@code match_subject_alt_names}, {@code alpn_protocols}, {@code tls_params} minimum and maximum
 * versions (TLSv1_2, TLSv1_3), and {@code require_client_certificate}. Not supported (a
 * {@link ConfigException} names the field): SDS secret configs (see {@link ServerTlsProvider} and
 * {@link ClientTlsProvider}, which resolve them through a {@link SecretManager}), certificate providers, PKCS#12, private key
 * providers, CRLs, SPKI/hash pinning. {@code cipher_suites} and {@code ecdh_curves} use OpenSSL names and are
 * ignored (the JDK defaults apply). Reading files blocks: call this off the event loop, at config time.
 *
 * <p>As in Envoy, an upstream context without {@code trusted_ca} does not verify the server's certificate.
 */
public final class TlsContexts {

    private static final Logger logger = LoggerFactory.getLogger(TlsContexts.class);

    private TlsContexts() {
    }

    /**
     * An upstream (client) context. ALPN offers {@code common_tls_context.alpn_protocols} when set, else
     * {@code h2} when {@code h2} is true and {@code http/1.1} otherwise (Envoy's connection pools do the same).
     * {@code sni} is not part of the context: the caller passes it to {@code newHandler(alloc, sni, port)}.
     * SDS secret configs are refused here: {@link ClientTlsProvider} reads them.
     */
    public static SslContext forUpstream(UpstreamTlsContext ctx, boolean h2) throws ConfigException {
        CommonTlsContext common = ctx.getCommonTlsContext();
        checkUnsupported(common);
        return client(ctx, h2, common.getTlsCertificatesCount() > 0 ? common.getTlsCertificates(0) : null,
                      "common_tls_context.tls_certificates[0]", inlineValidationContext(common),
                      "common_tls_context.validation_context");
    }

    /**
     * An upstream (client) context with its certificate and validation context already resolved (from the
     * config or from secrets): {@code cert} may be null (no client certificate), {@code validation} may be null
     * (no server verification, as in Envoy). {@code certPath} and {@code validationPath} name them in errors.
     */
    @SuppressWarnings("deprecation") // legacy match_subject_alt_names is still honoured
    public static SslContext client(UpstreamTlsContext ctx, boolean h2, TlsCertificate cert, String certPath,
                                    CertificateValidationContext validation, String validationPath)
            throws ConfigException {
        CommonTlsContext common = ctx.getCommonTlsContext();
        SslContextBuilder builder = SslContextBuilder.forClient().sslProvider(TlsEngine.provider());
        if (cert != null) {
            keyManager(builder, cert, certPath);
        }
        if (validation != null) {
            checkValidationContext(validation, validationPath);
        }
        if (validation != null && validation.hasTrustedCa()) {
            builder.trustManager(trustManager(validation, validationPath));
        } else {
            if (validation != null && (validation.getMatchTypedSubjectAltNamesCount() > 0
                                       || validation.getMatchSubjectAltNamesCount() > 0)) {
                throw new ConfigException(validationPath + ".trusted_ca: unset (expected: a CA when subject alt "
                                          + "names are matched)");
            }
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE);
        }
        List<String> alpn = new ArrayList<>(common.getAlpnProtocolsList());
        if (alpn.isEmpty()) {
            alpn.add(h2 ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1);
        }
        builder.applicationProtocolConfig(alpn(alpn));
        protocols(builder, common);
        return build(builder);
    }

    /**
     * A downstream (server) context: needs exactly one {@code tls_certificates} entry. With
     * {@code require_client_certificate} the client must present a certificate that
     * {@code validation_context} accepts; without it a client certificate is requested and verified only
     * when a {@code trusted_ca} is configured. ALPN advertises {@code alpn_protocols} in order of preference;
     * when unset, no ALPN is negotiated. SDS secret configs are refused here: {@link ServerTlsProvider} reads
     * them.
     */
    public static SslContext forDownstream(DownstreamTlsContext ctx) throws ConfigException {
        CommonTlsContext common = ctx.getCommonTlsContext();
        checkUnsupported(common);
        if (common.getTlsCertificatesCount() == 0) {
            throw new ConfigException("common_tls_context.tls_certificates: [] (expected: one certificate and key)");
        }
        return server(ctx, common.getTlsCertificates(0), "common_tls_context.tls_certificates[0]",
                      inlineValidationContext(common), "common_tls_context.validation_context");
    }

    /**
     * A downstream (server) context with its certificate and validation context already resolved (from the
     * config or from secrets); {@code validation} may be null. {@code certPath} and {@code validationPath} name
     * them in errors.
     */
    public static SslContext server(DownstreamTlsContext ctx, TlsCertificate cert, String certPath,
                                    CertificateValidationContext validation, String validationPath)
            throws ConfigException {
        CommonTlsContext common = ctx.getCommonTlsContext();
        checkCertificate(cert, certPath);
        byte[] chain = read(cert.getCertificateChain(), certPath + ".certificate_chain");
        byte[] key = read(cert.getPrivateKey(), certPath + ".private_key");
        checkKeyMatches(chain, key, certPath);
        SslContextBuilder builder;
        try {
            builder = SslContextBuilder.forServer(new ByteArrayInputStream(chain), new ByteArrayInputStream(key))
                                       .sslProvider(TlsEngine.provider());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(certPath + ": " + e.getMessage() + " (expected: a PEM certificate chain and "
                                      + "a PEM PKCS#8 private key)", e);
        }
        boolean require = ctx.hasRequireClientCertificate() && ctx.getRequireClientCertificate().getValue();
        if (validation != null) {
            checkValidationContext(validation, validationPath);
        }
        if (validation != null && validation.hasTrustedCa()) {
            builder.trustManager(trustManager(validation, validationPath));
            builder.clientAuth(require ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
        } else if (require) {
            throw new ConfigException(validationPath + ".trusted_ca: unset (expected: a CA when "
                                      + "require_client_certificate is true)");
        }
        if (common.getAlpnProtocolsCount() > 0) {
            builder.applicationProtocolConfig(alpn(common.getAlpnProtocolsList()));
        }
        protocols(builder, common);
        return build(builder);
    }

    /**
     * Builds the context. The key and chain go to Netty in an in-memory {@code JKS} key store: Netty puts them in a
     * key store of the JDK's default type to make its key manager, and the default, {@code PKCS12}, encrypts and
     * decrypts the key with 10,000 PBKDF2 rounds each time (measured: 60-300 ms of CPU per context against 2-6 ms
     * with {@code JKS}; a sidecar builds one context per mTLS cluster and listener, all at start-up). The store
     * never leaves memory, so its key protection adds nothing.
     */
    private static SslContext build(SslContextBuilder builder) throws ConfigException {
        try {
            return builder.keyStoreType("JKS").build();
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("common_tls_context: " + e.getMessage() + " (expected: a usable TLS context)", e);
        }
    }

    private static ApplicationProtocolConfig alpn(List<String> protocols) {
        return new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                                             ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                                             ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                                             protocols);
    }

    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    private static void checkUnsupported(CommonTlsContext common) throws ConfigException {
        if (common.getTlsCertificateSdsSecretConfigsCount() > 0) {
            throw new ConfigException("common_tls_context.tls_certificate_sds_secret_configs: set (expected: "
                                      + "tls_certificates; SDS is not supported here)");
        }
        if (common.hasTlsCertificateProviderInstance() || common.hasTlsCertificateCertificateProviderInstance()
            || common.hasTlsCertificateCertificateProvider()) {
            throw new ConfigException("common_tls_context.tls_certificate_provider_instance: set (expected: "
                                      + "tls_certificates)");
        }
        if (common.getTlsCertificatesCount() > 1) {
            throw new ConfigException("common_tls_context.tls_certificates: " + common.getTlsCertificatesCount()
                                      + " certificates (expected: at most 1)");
        }
        switch (common.getValidationContextTypeCase()) {
            case VALIDATION_CONTEXT:
            case VALIDATIONCONTEXTTYPE_NOT_SET:
                break;
            case COMBINED_VALIDATION_CONTEXT:
                if (common.getCombinedValidationContext().hasValidationContextSdsSecretConfig()
                    && !common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName().isEmpty()) {
                    throw new ConfigException("common_tls_context.combined_validation_context"
                                              + ".validation_context_sds_secret_config: set (expected: unset; SDS is "
                                              + "not supported here)");
                }
                break;
            default:
                throw new ConfigException("common_tls_context." + common.getValidationContextTypeCase().name()
                                                                        .toLowerCase(java.util.Locale.ROOT)
                                          + ": set (expected: validation_context; SDS is not supported here)");
        }
    }

    private static CertificateValidationContext inlineValidationContext(CommonTlsContext common) {
        if (common.hasValidationContext()) {
            return common.getValidationContext();
        } else if (common.hasCombinedValidationContext()) {
            return common.getCombinedValidationContext().getDefaultValidationContext();
        }
        return null;
    }

    /** Refuses the validation features this proxy does not implement, by name. */
    static void checkValidationContext(CertificateValidationContext v, String path) throws ConfigException {
        if (v.hasCrl()) {
            throw new ConfigException(path + ".crl: set (expected: unset; CRLs are not supported)");
        }
        if (v.getVerifyCertificateSpkiCount() > 0 || v.getVerifyCertificateHashCount() > 0) {
            throw new ConfigException(path + ".verify_certificate_spki: set (expected: unset; pinning is not supported)");
        }
        if (v.hasCustomValidatorConfig()) {
            throw new ConfigException(path + ".custom_validator_config: " + v.getCustomValidatorConfig().getName()
                                      + " (expected: unset)");
        }
    }

    private static void checkCertificate(TlsCertificate cert, String path) throws ConfigException {
        if (cert.hasPkcs12()) {
            throw new ConfigException(path + ".pkcs12: set (expected: certificate_chain and private_key)");
        }
        if (cert.hasPrivateKeyProvider()) {
            throw new ConfigException(path + ".private_key_provider: set (expected: private_key)");
        }
        if (cert.hasPassword()) {
            throw new ConfigException(path + ".password: set (expected: an unencrypted private key)");
        }
        if (!cert.hasCertificateChain()) {
            throw new ConfigException(path + ".certificate_chain: unset (expected: a PEM certificate chain)");
        }
        if (!cert.hasPrivateKey()) {
            throw new ConfigException(path + ".private_key: unset (expected: a PEM private key)");
        }
    }

    private static void keyManager(SslContextBuilder builder, TlsCertificate cert, String path)
            throws ConfigException {
        checkCertificate(cert, path);
        byte[] chain = read(cert.getCertificateChain(), path + ".certificate_chain");
        byte[] key = read(cert.getPrivateKey(), path + ".private_key");
        checkKeyMatches(chain, key, path);
        try {
            builder.keyManager(new ByteArrayInputStream(chain), new ByteArrayInputStream(key));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path + ": " + e.getMessage() + " (expected: a PEM certificate chain and "
                                      + "a PEM PKCS#8 private key)", e);
        }
    }

    /**
     * Refuses a private key that is not the key of the chain's first certificate (a rotation caught half-way,
     * two files from different issues): the JDK engine would only fail at the first handshake. Checked by
     * signing with the key and verifying with the certificate, for PKCS#8 RSA and EC keys; other forms are left
     * to the engine.
     */
    private static void checkKeyMatches(byte[] chainPem, byte[] keyPem, String path) throws ConfigException {
        java.security.cert.X509Certificate leaf;
        try {
            leaf = (java.security.cert.X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(chainPem));
        } catch (CertificateException | RuntimeException e) {
            throw new ConfigException(path + ".certificate_chain: " + e.getMessage() + " (expected: PEM certificates)", e);
        }
        String text = new String(keyPem, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = text.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            return;
        }
        String algorithm = leaf.getPublicKey().getAlgorithm();
        String signature = "RSA".equals(algorithm) ? "SHA256withRSA" : "EC".equals(algorithm) ? "SHA256withECDSA" : null;
        if (signature == null) {
            return;
        }
        try {
            byte[] der = java.util.Base64.getMimeDecoder().decode(text.substring(begin + 27, end));
            java.security.PrivateKey pk = java.security.KeyFactory.getInstance(algorithm)
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
            byte[] probe = "jmesh key check".getBytes(StandardCharsets.US_ASCII);
            java.security.Signature signer = java.security.Signature.getInstance(signature);
            signer.initSign(pk);
            signer.update(probe);
            byte[] sig = signer.sign();
            java.security.Signature verifier = java.security.Signature.getInstance(signature);
            verifier.initVerify(leaf.getPublicKey());
            verifier.update(probe);
            if (verifier.verify(sig)) {
                return;
            }
        } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
            // a key of another type than the certificate's: it does not match either
        }
        throw new ConfigException(path + ".private_key: does not match certificate_chain (expected: the private key "
                                  + "of the first certificate)");
    }

    /**
     * The trust manager of an upstream {@code validation_context}: its {@code trusted_ca}, then its
     * {@code match_typed_subject_alt_names} (the ADS client's TLS to the control plane uses it).
     *
     * @throws ConfigException naming {@code path.trusted_ca} when the CA cannot be read or used
     */
    public static X509TrustManager upstreamTrustManager(CertificateValidationContext v, String path)
            throws ConfigException {
        return trustManager(v, path);
    }

    private static X509TrustManager trustManager(CertificateValidationContext v, String path)
            throws ConfigException {
        byte[] pem = read(v.getTrustedCa(), path + ".trusted_ca");
        Collection<? extends java.security.cert.Certificate> cas;
        try {
            cas = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
        } catch (CertificateException e) {
            throw new ConfigException(path + ".trusted_ca: " + e.getMessage() + " (expected: PEM certificates)", e);
        }
        if (cas.isEmpty()) {
            throw new ConfigException(path + ".trusted_ca: no certificate (expected: PEM certificates)");
        }
        X509TrustManager delegate;
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (java.security.cert.Certificate c : cas) {
                ks.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            delegate = (X509TrustManager) tmf.getTrustManagers()[0];
        } catch (Exception e) {
            throw new ConfigException(path + ".trusted_ca: " + e.getMessage() + " (expected: usable CA certificates)", e);
        }
        SubjectAltNameVerifier sans = SubjectAltNameVerifier.of(v, path);
        return sans == null ? delegate : new SanCheckingTrustManager(delegate, sans);
    }

    private static void protocols(SslContextBuilder builder, CommonTlsContext common) throws ConfigException {
        if (!common.hasTlsParams()) {
            return;
        }
        TlsParameters p = common.getTlsParams();
        String min = version(p.getTlsMinimumProtocolVersion(), "TLSv1.2", "common_tls_context.tls_params"
                                                                            + ".tls_minimum_protocol_version");
        String max = version(p.getTlsMaximumProtocolVersion(), "TLSv1.3", "common_tls_context.tls_params"
                                                                            + ".tls_maximum_protocol_version");
        List<String> enabled = new ArrayList<>();
        for (String v : new String[] { "TLSv1.2", "TLSv1.3" }) {
            if (v.compareTo(min) >= 0 && v.compareTo(max) <= 0) {
                enabled.add(v);
            }
        }
        if (enabled.isEmpty()) {
            throw new ConfigException("common_tls_context.tls_params: " + min + ".." + max
                                      + " (expected: a range that includes TLSv1_2 or TLSv1_3)");
        }
        builder.protocols(enabled);
        if (p.getCipherSuitesCount() > 0) {
            logger.debug("tls_params.cipher_suites {} ignored: the JDK provider uses its own defaults",
                         p.getCipherSuitesList());
        }
    }

    private static String version(TlsParameters.TlsProtocol p, String auto, String path) throws ConfigException {
        switch (p) {
            case TLS_AUTO: return auto;
            case TLSv1_0: return "TLSv1";
            case TLSv1_1: return "TLSv1.1";
            case TLSv1_2: return "TLSv1.2";
            case TLSv1_3: return "TLSv1.3";
            default: throw new ConfigException(path + ": " + p + " (expected: TLS_AUTO, TLSv1_2 or TLSv1_3)");
        }
    }

    /**
     * Reads a {@code DataSource}: {@code filename}, {@code inline_string}, {@code inline_bytes} or
     * {@code environment_variable}. Blocks on file I/O. A missing or unreadable file is a
     * {@link ConfigException} naming {@code path.filename} and the file.
     */
    public static byte[] read(DataSource source, String path) throws ConfigException {
        switch (source.getSpecifierCase()) {
            case FILENAME:
                try {
                    return Files.readAllBytes(Path.of(source.getFilename()));
                } catch (IOException | RuntimeException e) {
                    throw new ConfigException(path + ".filename: " + source.getFilename() + " (expected: a readable "
                                              + "file; " + e.getClass().getSimpleName() + ')', e);
                }
            case INLINE_STRING:
                return source.getInlineString().getBytes(StandardCharsets.UTF_8);
            case INLINE_BYTES:
                return source.getInlineBytes().toByteArray();
            case ENVIRONMENT_VARIABLE:
                String value = System.getenv(source.getEnvironmentVariable());
                if (value == null) {
                    throw new ConfigException(path + ".environment_variable: " + source.getEnvironmentVariable()
                                              + " (expected: a set environment variable)");
                }
                return value.getBytes(StandardCharsets.UTF_8);
            default:
                throw new ConfigException(path + ": unset (expected: filename, inline_string, inline_bytes or "
                                          + "environment_variable)");
        }
    }
}

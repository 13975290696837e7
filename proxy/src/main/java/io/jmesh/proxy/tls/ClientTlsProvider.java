package io.jmesh.proxy.tls;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

/**
 * The TLS side of a cluster's connections, from an {@code UpstreamTlsContext}: client certificate from
 * {@code tls_certificates} or {@code tls_certificate_sds_secret_configs} (optional), server validation from
 * {@code validation_context}, {@code validation_context_sds_secret_config} or
 * {@code combined_validation_context} (as in Envoy, none means the server is not verified), {@code sni}, ALPN.
 * Each new connection gets an {@link SslHandler} of the current secrets; see {@link TlsContextProvider}.
 */
public final class ClientTlsProvider extends TlsContextProvider {

    private final UpstreamTlsContext config;
    private final boolean h2;
    private final String sni;

    private ClientTlsProvider(UpstreamTlsContext config, boolean h2, SecretManager secrets) throws ConfigException {
        super(config.getCommonTlsContext(), secrets, false);
        this.config = config;
        this.h2 = h2;
        this.sni = config.getSni().isEmpty() ? null : config.getSni();
    }

    /**
     * Validates {@code config}, subscribes to its secrets and builds the first context if they are here. ALPN
     * offers {@code alpn_protocols}, else {@code h2} or {@code http/1.1} after {@code h2}.
     *
     * @throws ConfigException for an unsupported field, a missing static secret or an unusable inline one
     */
    public static ClientTlsProvider create(UpstreamTlsContext config, boolean h2, SecretManager secrets)
            throws ConfigException {
        ClientTlsProvider p = new ClientTlsProvider(config, h2, secrets);
        p.start();
        return p;
    }

    @Override
    SslContext build() throws ConfigException {
        return TlsContexts.client(config, h2, certificate(), certificatePath(), validation(), validationPath());
    }

    @Override
    Object sharedSettings() {
        return java.util.List.of(config.toBuilder().clearSni()
                .setCommonTlsContext(withoutSecrets(config.getCommonTlsContext())).build(), h2);
    }

    /** {@code UpstreamTlsContext.sni}, or null when unset. */
    public String sni() {
        return sni;
    }

    /**
     * The {@link SslHandler} of a new upstream connection to {@code host:port} (SNI {@link #sni()} when set,
     * else {@code host}), or null while the secrets have not arrived (the caller fails the connection).
     */
    public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        SslContext ctx = current();
        if (ctx == null) {
            return null;
        }
        return ctx.newHandler(alloc, sni != null ? sni : host, port);
    }
}

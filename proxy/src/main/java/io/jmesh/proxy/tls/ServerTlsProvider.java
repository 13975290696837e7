package io.jmesh.proxy.tls;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

/**
 * The TLS side of a listener's filter chain, from a {@code DownstreamTlsContext}: certificate from
 * {@code tls_certificates} or {@code tls_certificate_sds_secret_configs}, client validation from
 * {@code validation_context}, {@code validation_context_sds_secret_config} or
 * {@code combined_validation_context}, {@code require_client_certificate}. Each new connection gets an
 * {@link SslHandler} of the current secrets ({@link #newHandler}); see {@link TlsContextProvider}.
 */
public final class ServerTlsProvider extends TlsContextProvider {

    private final DownstreamTlsContext config;

    private ServerTlsProvider(DownstreamTlsContext config, SecretManager secrets) throws ConfigException {
        super(config.getCommonTlsContext(), secrets, true);
        this.config = config;
    }

    /**
     * Validates {@code config}, subscribes to its secrets and builds the first context if they are here.
     *
     * @throws ConfigException for an unsupported field, a missing static secret or an unusable inline one;
     *                         the message starts with the field path
     */
    public static ServerTlsProvider create(DownstreamTlsContext config, SecretManager secrets) throws ConfigException {
        ServerTlsProvider p = new ServerTlsProvider(config, secrets);
        p.start();
        return p;
    }

    @Override
    SslContext build() throws ConfigException {
        return TlsContexts.server(config, certificate(), certificatePath(), validation(), validationPath());
    }

    @Override
    Object sharedSettings() {
        return config.toBuilder().setCommonTlsContext(withoutSecrets(config.getCommonTlsContext())).build();
    }

    /**
     * The {@link SslHandler} of a new downstream connection, from the current secrets, or null while they have
     * not arrived (the caller closes the connection). {@code sni} is the ClientHello's server name or null (one
     * certificate per filter chain for now: it does not change the choice).
     */
    public SslHandler newHandler(ByteBufAllocator alloc, String sni) {
        SslContext ctx = current();
        return ctx == null ? null : ctx.newHandler(alloc);
    }
}

/**
 * TLS for the proxy: the {@link io.jmesh.proxy.tls.SecretManager} (static secrets, watched files, SDS through
 * the xDS side's {@link io.jmesh.proxy.tls.DefaultSecretManager.RemoteSource}), and the TLS contexts of
 * listeners ({@link io.jmesh.proxy.tls.ServerTlsProvider}) and clusters
 * ({@link io.jmesh.proxy.tls.ClientTlsProvider}) built from Envoy's {@code DownstreamTlsContext} and
 * {@code UpstreamTlsContext}, which hand each new connection an {@code SslHandler} of the current secrets, so
 * that a rotation never drains connections. SPIFFE and SAN peer validation; the engine (OpenSSL or JDK) is
 * chosen once by {@link io.jmesh.proxy.tls.TlsEngine}.
 *
 * <p>The secret manager lives here rather than in a package of its own: its only users are the TLS contexts of
 * this package, and the SDS transport (gRPC streams) stays in {@code io.jmesh.proxy.xds}, which depends on this
 * package and not the other way round.
 */
package io.jmesh.proxy.tls;

/**
 * TLS for the proxy: Netty {@link io.netty.handler.ssl.SslContext}s built from Envoy's
 * {@code UpstreamTlsContext} and {@code DownstreamTlsContext}, with the JDK provider.
 */
package io.jmesh.proxy.tls;

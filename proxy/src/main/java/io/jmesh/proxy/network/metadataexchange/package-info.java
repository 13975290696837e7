/**
 * Istio's TCP metadata exchange ({@code istio.metadata_exchange}, istio/proxy
 * {@code source/extensions/filters/network/metadata_exchange}): over a mutual TLS connection whose ALPN is
 * {@code istio-peer-exchange}, each side's proxy first sends its node metadata, and strips the other's from the
 * bytes it passes on, so that TCP metrics ({@code istio_tcp_*}) carry the peer's workload labels as HTTP metrics do
 * with the {@code x-envoy-peer-metadata} header. A listener filter chain enables it on the server side
 * ({@link io.jmesh.proxy.network.metadataexchange.MetadataExchangeFilterFactory}), a cluster's
 * {@code filters} on the client side (for tcp_proxy's upstream connections).
 */
package io.jmesh.proxy.network.metadataexchange;

/**
 * Transport sockets (Envoy's {@code transport_socket}): what a connection runs over between the socket and the
 * network filters or the upstream codec. A {@link io.jmesh.proxy.transport.TransportSocketFactory} is a kind of the
 * {@link io.jmesh.proxy.extension.ExtensionRegistry}; the built-ins are {@code envoy.transport_sockets.tls}
 * (producing the secret-manager based {@link io.jmesh.proxy.tls.ServerTlsProvider} and
 * {@link io.jmesh.proxy.tls.ClientTlsProvider}) and {@code envoy.transport_sockets.raw_buffer} (plaintext).
 */
package io.jmesh.proxy.transport;

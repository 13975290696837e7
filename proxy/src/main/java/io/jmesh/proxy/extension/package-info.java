/**
 * The registry of proxy extensions: HTTP, network, listener and RPC filters, transport sockets and access
 * loggers, keyed by Envoy's extension name and by the type URL of their config, found on the class path with
 * {@link java.util.ServiceLoader} (Armeria's {@code XdsExtensionRegistry}, gRPC-Java's {@code FilterRegistry}).
 * A registry is passed to the proxy when it starts, so a test or a user jar can add extensions.
 */
package io.jmesh.proxy.extension;

package io.jmesh.proxy.extension;

import java.util.List;

/**
 * A factory of one extension, found by Envoy's extension name or by the type URL of its config.
 * Network, listener and RPC filter factories implement it (through their kind's interface, which says
 * {@link #kind()}); kinds whose factories predate it (HTTP filters) are adapted by their {@link ExtensionKind}.
 *
 * <p>{@link ExtensionRegistry#load} finds factories listed in {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory}
 * (one class name a line, each with a public no-argument constructor).
 */
public interface ExtensionFactory {

    /** The kind this factory belongs to, e.g. {@code NetworkFilterFactory.KIND}. */
    ExtensionKind<?> kind();

    /** Envoy's canonical name, e.g. {@code envoy.filters.network.tcp_proxy}. */
    String name();

    /**
     * The type URLs of the configs this factory reads, e.g.
     * {@code type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy}. For a config wrapped in
     * a {@code TypedStruct} this is the struct's inner {@code type_url}. Empty when the extension is found by name
     * only.
     */
    List<String> typeUrls();
}

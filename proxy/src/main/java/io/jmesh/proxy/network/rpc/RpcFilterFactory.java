package io.jmesh.proxy.network.rpc;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionFactory;
import io.jmesh.proxy.extension.ExtensionKind;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.telemetry.Stats;

/**
 * Makes RPC filters of one kind from their config (Envoy generic proxy's {@code NamedFilterConfigFactory}).
 * A {@linkplain #KIND kind} of the {@link io.jmesh.proxy.extension.ExtensionRegistry}, found by its config's
 * {@linkplain #typeUrl() type URL}, else by its {@linkplain #name() name}; a test or a user jar adds one by listing
 * it in {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory} (the older
 * {@code META-INF/services/io.jmesh.proxy.network.rpc.RpcFilterFactory} is read too). Factories are stateless.
 */
public interface RpcFilterFactory extends ExtensionFactory {

    /** The kind of RPC filter factories (the {@code filters} of an rpc_proxy). */
    ExtensionKind<RpcFilterFactory> KIND = ExtensionKind.of("rpc_filter", RpcFilterFactory.class);

    @Override
    default ExtensionKind<?> kind() {
        return KIND;
    }

    /** The filter's name in the {@code filters} list, e.g. {@code envoy.filters.generic.router}. */
    String name();

    /**
     * The type URL of the filter's config ({@code typed_config.@type}, or the {@code type_url} inside an
     * {@code xds.type.v3.TypedStruct}), or null when the filter is found by name only.
     */
    String typeUrl();

    /** {@link #typeUrl()} as a list: empty when the filter is found by name only. */
    @Override
    default List<String> typeUrls() {
        String url = typeUrl();
        return url == null || url.isEmpty() ? List.of() : List.of(url);
    }

    /** Whether this is the terminal RPC router (the last filter of every chain). */
    default boolean terminal() {
        return false;
    }

    /**
     * Validates the config once, when the listener is built; the result makes one filter per call. {@code config}
     * is the JSON of {@code typed_config} without {@code @type} (for a TypedStruct: its {@code value}); an empty
     * object when the filter has none. Error messages are relative to it.
     */
    PerCall create(JsonNode config, Context context) throws ConfigException;

    /** Makes the filter instance of one call. */
    interface PerCall {
        /** The filter of {@code request}'s call, or null when it has nothing to do on it (then it is not run). */
        RpcFilter newFilter(RpcRequest request);
    }

    /**
     * Where a filter chain lives: the server's parts ({@link ExtensionContext}: cluster manager, stats, event
     * loops, lifecycle, secret manager), so a filter can call a service, and the rpc_proxy's own.
     */
    interface Context extends ExtensionContext {
        /** The proxy's stats; RPC filter stats are {@code rpc.<stat_prefix>.<filter>.<name>}. */
        @Override
        Stats stats();

        /** The rpc_proxy's {@code stat_prefix}. */
        String statPrefix();

        /** The chain's protocol. */
        RpcCodec codec();
    }
}

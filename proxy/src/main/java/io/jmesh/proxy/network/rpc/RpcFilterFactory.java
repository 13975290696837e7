package io.jmesh.proxy.network.rpc;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.telemetry.Stats;

/**
 * Makes RPC filters of one kind from their config (Envoy generic proxy's {@code NamedFilterConfigFactory}).
 * Registered in {@link RpcFilterRegistry} under its {@linkplain #name() name} and its config's
 * {@linkplain #typeUrl() type URL}, built in or through {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.jmesh.proxy.network.rpc.RpcFilterFactory}). Factories are stateless.
 */
public interface RpcFilterFactory {

    /** The filter's name in the {@code filters} list, e.g. {@code envoy.filters.generic.router}. */
    String name();

    /**
     * The type URL of the filter's config ({@code typed_config.@type}, or the {@code type_url} inside an
     * {@code xds.type.v3.TypedStruct}), or null when the filter is found by name only.
     */
    String typeUrl();

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

    /** Where a filter chain lives. */
    interface Context {
        /** The proxy's stats; RPC filter stats are {@code rpc.<stat_prefix>.<filter>.<name>}. */
        Stats stats();

        /** The rpc_proxy's {@code stat_prefix}. */
        String statPrefix();

        /** The chain's protocol. */
        RpcCodec codec();
    }
}

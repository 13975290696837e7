package io.jmesh.proxy.network.rpc;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.config.ConfigException;

/**
 * The RPC router, {@code envoy.filters.generic.router}: the terminal filter of every rpc_proxy chain. It is not a
 * filter instance: the proxy performs it after the last filter (route, cluster, host, circuit breaker, upstream
 * connection, retries, timeout). Its config ({@code envoy.extensions.filters.network.generic_proxy.router.v3.Router})
 * may be empty; {@code bind_upstream_connection: true} is refused (calls are always multiplexed).
 */
public final class RpcRouterFilterFactory implements RpcFilterFactory {

    /** Envoy generic proxy's router filter name. */
    public static final String NAME = "envoy.filters.generic.router";
    /** The router config's type URL. */
    public static final String TYPE_URL =
            "type.googleapis.com/envoy.extensions.filters.network.generic_proxy.router.v3.Router";

    /** The one instance (stateless). */
    public static final RpcRouterFilterFactory INSTANCE = new RpcRouterFilterFactory();

    private RpcRouterFilterFactory() {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String typeUrl() {
        return TYPE_URL;
    }

    @Override
    public boolean terminal() {
        return true;
    }

    @Override
    public PerCall create(JsonNode config, Context context) throws ConfigException {
        final var fields = config.fieldNames();
        while (fields.hasNext()) {
            final String f = fields.next();
            final JsonNode v = config.get(f);
            if (f.equals("bind_upstream_connection") || f.equals("bindUpstreamConnection")) {
                if (v.isBoolean() && !v.asBoolean()) {
                    continue;
                }
                throw new ConfigException(f + ": " + v + " (expected: false; rpc_proxy multiplexes calls over "
                                          + "shared upstream connections)");
            }
            throw new ConfigException(f + ": (expected: bind_upstream_connection or nothing)");
        }
        return null;
    }
}

package io.jmesh.proxy.network.rpc;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.protocol.rpc.RpcStatus;

/**
 * RPC filters for tests, registered with ServiceLoader in {@code META-INF/services} as a third-party filter would be:
 * one that refuses a method with a local reply, one that adds a header, one that pauses the chain.
 */
public final class TestRpcFilters {

    private TestRpcFilters() {}

    private static String text(JsonNode config, String field) throws ConfigException {
        final JsonNode v = config.get(field);
        if (v == null || !v.isTextual()) {
            throw new ConfigException(field + ": " + v + " (expected: a string)");
        }
        return v.asText();
    }

    /** {@code jmesh.test.rpc.reject_method}: {@code {method}} is refused with PERMISSION_DENIED, read from RequestAttributes. */
    public static final class RejectMethod implements RpcFilterFactory {
        @Override
        public String name() {
            return "jmesh.test.rpc.reject_method";
        }

        @Override
        public String typeUrl() {
            return "type.googleapis.com/jmesh.test.rpc.RejectMethod";
        }

        @Override
        public PerCall create(JsonNode config, Context context) throws ConfigException {
            final String method = text(config, "method");
            final RpcFilter filter = new RpcFilter() {
                @Override
                public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
                    // Written against the protocol-neutral view, as a policy engine shared with HTTP would be.
                    if (method.equals(request.method()) && request.path().endsWith('/' + method)) {
                        callbacks.sendLocalReply(RpcStatus.PERMISSION_DENIED,
                                                 "jmesh: " + request.protocol() + " call " + request.path()
                                                 + " denied", "rbac_access_denied");
                        return Status.STOP_ITERATION;
                    }
                    return Status.CONTINUE;
                }
            };
            return request -> filter; // stateless: one instance for every call
        }
    }

    /** {@code jmesh.test.rpc.add_header}: adds {@code {name: value}} for the provider. */
    public static final class AddHeader implements RpcFilterFactory {
        @Override
        public String name() {
            return "jmesh.test.rpc.add_header";
        }

        @Override
        public String typeUrl() {
            return null;
        }

        @Override
        public PerCall create(JsonNode config, Context context) throws ConfigException {
            final String name = text(config, "name");
            final String value = text(config, "value");
            final RpcFilter filter = new RpcFilter() {
                @Override
                public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
                    request.setHeader(name, value);
                    if (!value.equals(request.header(name))) {
                        throw new AssertionError("the added header is not visible");
                    }
                    if (callbacks.route() != null && request.header("x-reroute") != null) {
                        callbacks.clearRouteCache();
                    }
                    return Status.CONTINUE;
                }
            };
            return request -> filter;
        }
    }

    /**
     * {@code jmesh.test.rpc.pause}: stops the chain on the request and on the response; the callbacks wait in
     * {@link #REQUESTS} and {@link #RESPONSES} for the test to resume them.
     */
    public static final class Pause implements RpcFilterFactory {
        static final BlockingQueue<RpcFilterCallbacks> REQUESTS = new LinkedBlockingQueue<>();
        static final BlockingQueue<RpcFilterCallbacks> RESPONSES = new LinkedBlockingQueue<>();
        /** What the filter saw, in order: {@code request}, {@code response:<status>}, {@code destroy}. */
        static final BlockingQueue<String> EVENTS = new LinkedBlockingQueue<>();

        @Override
        public String name() {
            return "jmesh.test.rpc.pause";
        }

        @Override
        public String typeUrl() {
            return "type.googleapis.com/jmesh.test.rpc.Pause";
        }

        @Override
        public PerCall create(JsonNode config, Context context) {
            return request -> new RpcFilter() {
                @Override
                public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
                    EVENTS.add("request");
                    REQUESTS.add(callbacks);
                    return Status.STOP_ITERATION;
                }

                @Override
                public Status onResponse(RpcResponse response, RpcFilterCallbacks callbacks) {
                    EVENTS.add("response:" + response.status() + (response.isLocalReply() ? ":local" : ""));
                    RESPONSES.add(callbacks);
                    return Status.STOP_ITERATION;
                }

                @Override
                public void onDestroy() {
                    EVENTS.add("destroy");
                }
            };
        }
    }
}

package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ServerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;
import com.alipay.sofa.rpc.core.exception.SofaRpcException;
import com.alipay.sofa.rpc.core.request.SofaRequest;
import com.alipay.sofa.rpc.core.response.SofaResponse;
import com.alipay.sofa.rpc.filter.Filter;
import com.alipay.sofa.rpc.filter.FilterInvoker;

import io.jmesh.proxy.testing.ProxyFixture;

/**
 * The rpc_proxy's Zipkin {@code tracing} between a real SOFARPC consumer and provider: a consumer's single {@code b3}
 * header map entry is continued and replaced by the {@code x-b3-*} entries of the sidecar's span, as Envoy does with
 * the {@code b3} header, so the provider parents on the sidecar's span and not on the consumer's.
 */
class SofaRpcB3PropagationTest {

    private static final String TRACE_ID = "463ac35c9f6413ad48485a3953bb6124";
    private static final String SPAN_ID = "a2fb4a1d1a96d312";
    /** The key under which SOFARPC's Bolt serialization puts the request's header map for the provider. */
    private static final String REQUEST_HEADER_KEY = "request_header_key";

    private static ServerConfig serverConfig;
    private static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort(); // SOFARPC does not report an ephemeral port back
        // answers with the B3 entries of the header map it received
        serverConfig = SofaApps.provider(port, (name, times) -> {
            @SuppressWarnings("unchecked")
            final Map<String, String> h = (Map<String, String>) RpcInvokeContext.getContext().get(REQUEST_HEADER_KEY);
            return h.get("b3") + " " + h.get("x-b3-traceid") + " " + h.get("x-b3-parentspanid") + " "
                   + h.get("x-b3-spanid") + " " + h.get("x-b3-sampled");
        });
        proxy = RpcMesh.b3ConsumerSidecar("bolt", "sofarpc", HelloService.class.getName(), port);
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (serverConfig != null) {
            serverConfig.destroy();
        }
    }

    @Test
    void aConsumersSingleB3EntryIsReplacedByTheSidecarsSpan() throws Exception {
        // a consumer filter puts b3 into the request's props, which SOFARPC writes into the Bolt header map
        final Filter b3 = new Filter() {
            @Override
            public SofaResponse invoke(FilterInvoker invoker, SofaRequest request) throws SofaRpcException {
                request.addRequestProp("b3", TRACE_ID + "-" + SPAN_ID + "-0");
                return invoker.invoke(request);
            }
        };
        final HelloService hello = SofaApps.consumer(proxy.server().listenerAddresses().get("sofarpc"))
                .setFilterRef(List.of(b3)).refer();
        final String[] seen = hello.sayHello("tracer", 1).split(" ");
        assertEquals("null", seen[0], "the consumer's b3 entry does not reach the provider");
        assertEquals(TRACE_ID, seen[1], "the provider is in the consumer's trace");
        assertEquals(SPAN_ID, seen[2], "the sidecar's span is the consumer's child");
        assertNotEquals(SPAN_ID, seen[3], "the provider's parent is the sidecar's span");
        assertEquals(16, seen[3].length(), seen[3]);
        assertEquals("0", seen[4], "the consumer's sampling decision is kept");
    }
}

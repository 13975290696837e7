package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;

import io.jmesh.proxy.testing.ProxyFixture;

/**
 * The rpc_proxy's Zipkin {@code tracing} between a real Dubbo consumer and provider: a consumer's single {@code b3}
 * attachment is continued and replaced by the {@code x-b3-*} attachments of the sidecar's span, as Envoy does with
 * the {@code b3} header, so the provider parents on the sidecar's span and not on the consumer's.
 */
class DubboB3PropagationTest {

    private static final String TRACE_ID = "463ac35c9f6413ad48485a3953bb6124";
    private static final String SPAN_ID = "a2fb4a1d1a96d312";

    private static DubboBootstrap provider;
    private static DubboBootstrap consumer;
    private static GreetingService greeting;
    private static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort();
        // answers with the B3 attachments it received
        provider = DubboApps.provider(port, name -> {
            final var a = RpcContext.getServerAttachment();
            return a.getAttachment("b3") + " " + a.getAttachment("x-b3-traceid") + " "
                   + a.getAttachment("x-b3-parentspanid") + " " + a.getAttachment("x-b3-spanid") + " "
                   + a.getAttachment("x-b3-sampled");
        });
        proxy = RpcMesh.b3ConsumerSidecar("dubbo", "dubbo", GreetingService.class.getName(), port);
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        consumer = DubboApps.consumer(proxy.server().listenerAddresses().get("dubbo"), reference);
        greeting = reference.get();
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (provider != null) {
            provider.stop();
        }
    }

    @Test
    void aConsumersSingleB3AttachmentIsReplacedByTheSidecarsSpan() throws Exception {
        RpcContext.getClientAttachment().setAttachment("b3", TRACE_ID + "-" + SPAN_ID + "-0");
        final String[] seen;
        try {
            seen = greeting.greet("tracer").split(" ");
        } finally {
            RpcContext.removeClientAttachment();
        }
        assertEquals("null", seen[0], "the consumer's b3 attachment does not reach the provider");
        assertEquals(TRACE_ID, seen[1], "the provider is in the consumer's trace");
        assertEquals(SPAN_ID, seen[2], "the sidecar's span is the consumer's child");
        assertNotEquals(SPAN_ID, seen[3], "the provider's parent is the sidecar's span");
        assertEquals(16, seen[3].length(), seen[3]);
        assertEquals("0", seen[4], "the consumer's sampling decision is kept");
    }
}

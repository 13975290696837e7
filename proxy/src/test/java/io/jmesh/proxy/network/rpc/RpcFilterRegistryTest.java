package io.jmesh.proxy.network.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.telemetry.accesslog.RecordingAccessLoggerFactory;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.util.ReferenceCountUtil;

/**
 * RPC filters are a kind of the one extension registry: the rpc_proxy resolves its {@code filters} through the
 * registry the proxy was started with (a filter added to an injected registry only), and a factory gets the server's
 * context (cluster manager, stats, event loops, lifecycle) besides the rpc_proxy's own; a registered access logger
 * records the rpc_proxy's calls.
 */
class RpcFilterRegistryTest {

    private static final AtomicReference<RpcFilterFactory.Context> SEEN = new AtomicReference<>();

    /** {@code jmesh.test.rpc.context_probe}: keeps the context it is built with; no filter per call. */
    static final class ContextProbe implements RpcFilterFactory {
        @Override
        public String name() {
            return "jmesh.test.rpc.context_probe";
        }

        @Override
        public String typeUrl() {
            return null;
        }

        @Override
        public PerCall create(JsonNode config, Context context) {
            SEEN.set(context);
            return request -> null;
        }
    }

    private static final String FILTERS = "[{ name: jmesh.test.rpc.context_probe }, " + RpcFilterChainTest.ROUTER + "]";

    private static Bootstraps config() {
        return Bootstraps.rpc("dubbo").statPrefix("test").option("filters", FILTERS).route("/", "a").cluster("a", 1);
    }

    @Test
    void aFilterOfTheInjectedRegistryGetsTheServersContext() throws Exception {
        ExtensionRegistry registry = ExtensionRegistry.loadDefault().toBuilder()
                .add(RpcFilterFactory.KIND, new ContextProbe()).build();
        try (ProxyFixture proxy = config().start(1, registry)) {
            RpcFilterFactory.Context c = SEEN.get();
            assertNotNull(c);
            assertEquals("test", c.statPrefix());
            assertEquals("dubbo", c.codec().name());
            assertSame(proxy.server().stats(), c.stats());
            assertNotNull(c.eventLoopGroup(), "the server's event loops (its timers)");
            assertNotNull(c.clusterManager().get().get("a"), "the filter can reach cluster a");
        }
    }

    @Test
    void aRegisteredAccessLoggerRecordsRpcCalls() throws Exception {
        List<AutoCloseable> resources = new ArrayList<>();
        ProxyFixture proxy = null;
        try {
            RpcPeers.EchoServer a = new RpcPeers.EchoServer(RpcProtocol.DUBBO, "a");
            resources.add(a);
            proxy = Bootstraps.rpc("dubbo").statPrefix("test")
                    .option("access_log", "[" + RecordingAccessLoggerFactory.config("rpc") + "]")
                    .route("/", "a").cluster("a", a.port()).start();
            RpcPeers.Client c = new RpcPeers.Client(RpcProtocol.DUBBO, proxy.port());
            resources.add(0, c);
            Object r = c.call(RpcPeers.request(RpcProtocol.DUBBO, 1, false, 0, "com.example.Echo", "hello", Map.of(),
                    "x"));
            ReferenceCountUtil.release(r);
            Poll.until(() -> RecordingAccessLoggerFactory.entries("rpc").size() == 1, "one entry");
            assertEquals("a", RecordingAccessLoggerFactory.entries("rpc").peek().split(" ")[1]);
        } finally {
            RpcPeers.closeAll(resources, proxy);
        }
    }

    @Test
    void aFilterOutsideTheRegistryIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> config().start());
        assertTrue(e.getMessage().startsWith("static_resources.listeners[0].filter_chains[0].filters[0].typed_config"
                + ".value.filters[0].name: jmesh.test.rpc.context_probe (expected: a supported RPC filter: ["),
                e.getMessage());
    }
}

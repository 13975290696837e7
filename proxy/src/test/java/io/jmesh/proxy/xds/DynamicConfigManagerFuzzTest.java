package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;

/**
 * Fuzzes the xDS translation of the proxy: a sequence of CDS, EDS, LDS and RDS responses whose resources are
 * fuzzer bytes (parsed by {@link DynamicConfigManager} itself from {@code Any}s of the right type) is applied
 * to a fresh {@link DynamicConfigManager}; each response is applied or NACKed with a {@link ConfigException}
 * that has a message, never another exception. Listeners that get applied are bound on 127.0.0.1 on a free
 * port (every port they name is mapped to 0), so the fuzzer never binds a port someone else uses.
 *
 * <p>Input: repeated {@code [u8 type (mod 4: CDS, EDS, LDS, RDS)] [u8 count (mod 4)] count × [u16 length]
 * [resource bytes]}. Seeds: {@code DynamicConfigManagerFuzzTestInputs/apply/} (made from the YAML of
 * {@code DynamicConfigManagerTest} by {@link XdsFuzzSeeds}).
 */
class DynamicConfigManagerFuzzTest {

    static final String[] TYPES = {
        DynamicConfigManager.CLUSTER_TYPE, DynamicConfigManager.ENDPOINT_TYPE,
        DynamicConfigManager.LISTENER_TYPE, DynamicConfigManager.ROUTE_TYPE,
    };

    private static final EventLoopGroup workers = Transports.newGroup(1, "xds-fuzz");

    /** One response of the input. */
    record Response(String typeUrl, List<Any> resources) {}

    static List<Response> parse(byte[] input) {
        ByteBuffer in = ByteBuffer.wrap(input);
        List<Response> out = new ArrayList<>();
        while (in.remaining() >= 2) {
            String type = TYPES[(in.get() & 0xff) % 4];
            int count = (in.get() & 0xff) % 4;
            List<Any> resources = new ArrayList<>();
            for (int i = 0; i < count && in.remaining() >= 2; i++) {
                int len = Math.min(in.getShort() & 0xffff, in.remaining());
                byte[] b = new byte[len];
                in.get(b);
                resources.add(Any.newBuilder().setTypeUrl(type).setValue(ByteString.copyFrom(b)).build());
            }
            out.add(new Response(type, resources));
        }
        return out;
    }

    @FuzzTest
    void apply(byte[] input) throws Exception {
        List<Response> responses = parse(input);
        // Every port a listener of the input names is bound as 127.0.0.1:0.
        Map<Integer, Integer> ports = new HashMap<>();
        for (Response r : responses) {
            if (r.typeUrl.equals(DynamicConfigManager.LISTENER_TYPE)) {
                for (Any a : r.resources) {
                    try {
                        Listener l = Listener.parseFrom(a.getValue());
                        ports.put(l.getAddress().getSocketAddress().getPortValue(), 0);
                    } catch (InvalidProtocolBufferException notAListener) {
                        // the manager NACKs it
                    }
                }
            }
        }
        Stats stats = new Stats();
        ClusterManager[] clusters = {ClusterManager.create(List.of(), workers, stats)};
        ScheduledThreadPoolExecutor xds = new ScheduledThreadPoolExecutor(1);
        DynamicConfigManager dcm = new DynamicConfigManager(workers, stats, List.of(), () -> clusters[0],
                c -> clusters[0] = c, new ListenerBinding("127.0.0.1", ports), xds, 0);
        try {
            int version = 0;
            for (Response r : responses) {
                try {
                    dcm.onResources(r.typeUrl, Integer.toString(++version), r.resources);
                } catch (ConfigException nack) {
                    assertNotNull(nack.getMessage());
                    assertFalse(nack.getMessage().isBlank(), "a NACK without a reason");
                }
            }
        } finally {
            // The manager's timers (warming, drain checks) never run: everything is closed here.
            xds.shutdownNow();
            dcm.closeAll();
            clusters[0].close();
        }
    }
}

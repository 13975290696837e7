package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;

class StatsPluginConfigTest {

    static Any typedStruct(String json) throws Exception {
        Struct.Builder value = Struct.newBuilder();
        JsonFormat.parser().merge(json, value);
        return Any.pack(com.github.udpa.udpa.type.v1.TypedStruct.newBuilder()
                .setTypeUrl(StatsPluginConfig.TYPE_URL).setValue(value).build());
    }

    @Test
    void readsIstiosFields() throws Exception {
        StatsPluginConfig c = StatsPluginConfig.parse(typedStruct("""
                {"reporter": "SERVER_GATEWAY", "disable_host_header_fallback": true, "tcp_reporting_duration": "5s",
                 "metrics": [{"name": "request_bytes", "drop": true},
                             {"name": "requests_total", "tags_to_remove": ["source_principal"],
                              "dimensions": {"rpc_method": "request.method"}}]}"""));
        assertTrue(c.serverGateway);
        assertTrue(c.disableHostHeaderFallback);
        assertEquals(Set.of("request_bytes"), c.dropped);
        assertEquals(Map.of("requests_total", Set.of("source_principal")), c.tagsToRemove);
        assertEquals(Map.of("requests_total", Map.of("rpc_method", "request.method")), c.dimensions);

        Stats stats = new Stats();
        IstioMetrics m = new IstioMetrics(stats, TrafficDirection.INBOUND, c);
        assertEquals("waypoint", m.reporter.label);
        List<String> labels = stats.tagged().families().get("istio_requests_total").labelNames();
        assertEquals(25, labels.size());
        assertEquals("rpc_method", labels.get(24));
        assertTrue(!labels.contains("source_principal"));
        assertTrue(!stats.tagged().families().containsKey("istio_request_bytes"), "dropped");
    }

    @Test
    void refusesWhatItCannotDoByName() {
        ConfigException cel = assertThrows(ConfigException.class, () -> StatsPluginConfig.parse(typedStruct(
                "{\"metrics\": [{\"dimensions\": {\"peer\": \"filter_state['wasm.upstream_peer']\"}}]}")));
        assertTrue(cel.getMessage().startsWith("value.metrics[0].dimensions.peer: filter_state['wasm.upstream_peer']"
                + " (expected: Istio's CEL subset; unknown identifier 'filter_state'"), cel.getMessage());
        assertError("value.metrics[0].name: nope (expected: a standard metric: [request_bytes,"
                + " request_duration_milliseconds, request_messages_total, requests_total, response_bytes,"
                + " response_messages_total, tcp_connections_closed_total, tcp_connections_opened_total,"
                + " tcp_received_bytes_total, tcp_sent_bytes_total])", "{\"metrics\": [{\"name\": \"nope\"}]}");
        assertError("value.definitions: 1 definitions (expected: none; custom metrics with CEL values are not"
                + " supported)", "{\"definitions\": [{\"name\": \"x\", \"value\": \"1\"}]}");
        ConfigException e = assertThrows(ConfigException.class, () -> StatsPluginConfig.parse(typedStruct(
                "{\"reporterr\": \"X\"}")));
        assertTrue(e.getMessage().startsWith("value: ") && e.getMessage().contains("reporterr"), e.getMessage());
    }

    static void assertError(String expected, String json) {
        ConfigException e = assertThrows(ConfigException.class, () -> StatsPluginConfig.parse(typedStruct(json)));
        assertEquals(expected, e.getMessage());
    }
}

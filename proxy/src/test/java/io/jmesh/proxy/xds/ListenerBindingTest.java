package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.jmesh.proxy.config.EnvoyTypes;

/** Where LDS listeners are bound without traffic redirection. */
class ListenerBindingTest {

    private static Listener listener(String yaml) throws Exception {
        return EnvoyTypes.PARSER.parse(yaml, Listener.newBuilder()).build();
    }

    private static final String TCP = "filters: [{name: envoy.filters.network.tcp_proxy, typed_config: "
            + "{\"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: s, cluster: c}}]";

    @Test
    void originalDstListenersAreNotBound() throws Exception {
        Listener outbound = listener("{name: virtualOutbound, address: {socket_address: {address: 0.0.0.0, port_value: 15001}}, "
                + "use_original_dst: true, traffic_direction: OUTBOUND, filter_chains: [{" + TCP + "}]}");
        ListenerBinding b = new ListenerBinding("127.0.0.1", Map.of(15001, 0), "127.0.0.9");
        assertNull(b.apply(outbound));
        assertEquals(List.of(), b.expand(outbound));
    }

    @Test
    void bindToPortFalseIsBoundOnlyWhenMapped() throws Exception {
        Listener l = listener("{name: 0.0.0.0_9080, address: {socket_address: {address: 0.0.0.0, port_value: 9080}}, "
                + "bind_to_port: false, filter_chains: [{" + TCP + "}]}");
        assertNull(ListenerBinding.AS_CONFIGURED.apply(l));
        Listener bound = new ListenerBinding("127.0.0.1", Map.of(9080, 0)).apply(l);
        assertEquals("127.0.0.1", bound.getAddress().getSocketAddress().getAddress());
        assertEquals(0, bound.getAddress().getSocketAddress().getPortValue());
        assertEquals(false, bound.hasBindToPort());
        assertEquals("0.0.0.0_9080", bound.getName());
    }

    @Test
    void ordinaryListenersKeepTheirPortUnlessMapped() throws Exception {
        Listener l = listener("{name: gw, address: {socket_address: {address: 0.0.0.0, port_value: 8080}}, filter_chains: [{" + TCP + "}]}");
        assertEquals(l, ListenerBinding.AS_CONFIGURED.apply(l));
        Listener local = new ListenerBinding("127.0.0.1", Map.of()).apply(l);
        assertEquals("127.0.0.1", local.getAddress().getSocketAddress().getAddress());
        assertEquals(8080, local.getAddress().getSocketAddress().getPortValue());
        assertEquals(18080, new ListenerBinding(null, Map.of(8080, 18080)).apply(l).getAddress().getSocketAddress().getPortValue());
    }

    @Test
    void inboundIsSplitPerWorkloadPortOnTheInboundAddress() throws Exception {
        Listener inbound = listener("{name: virtualInbound, address: {socket_address: {address: 0.0.0.0, port_value: 15006}}, "
                + "use_original_dst: true, traffic_direction: INBOUND, filter_chains: ["
                + "{name: 'inbound|9080||', filter_chain_match: {destination_port: 9080}, " + TCP + "},"
                + "{name: 'inbound|9090||', filter_chain_match: {destination_port: 9090}, " + TCP + "},"
                + "{name: InboundPassthroughFilterChain, " + TCP + "}]}");
        assertEquals(List.of(), new ListenerBinding("127.0.0.1", Map.of()).expand(inbound), "no inbound address: not bound");
        List<Listener> split = new ListenerBinding("127.0.0.1", Map.of(), "127.0.0.21").expand(inbound);
        assertEquals(List.of("127.0.0.21_9080", "127.0.0.21_9090"), split.stream().map(Listener::getName).toList());
        Listener first = split.get(0);
        assertEquals("127.0.0.21", first.getAddress().getSocketAddress().getAddress());
        assertEquals(9080, first.getAddress().getSocketAddress().getPortValue());
        assertEquals(1, first.getFilterChainsCount());
        assertEquals("inbound|9080||", first.getFilterChains(0).getName());
        assertEquals(false, first.getFilterChains(0).hasFilterChainMatch());
        assertEquals(false, first.hasUseOriginalDst());
    }
}

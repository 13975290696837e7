package io.jmesh.proxy.listener.originalsrc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.extensions.filters.listener.original_src.v3.OriginalSrc;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.listener.FakeListenerFilterCallbacks;
import io.jmesh.proxy.network.FilterStatus;

/**
 * original_src records the client's address (with its port only for {@code bind_port}) and the mark as the source of
 * the connection's upstream; its config is Envoy's {@code OriginalSrc}, anything else is refused by name. That the
 * upstream really binds it is shown end to end by the cli's TproxyCaptureTest (transparent sockets need root).
 */
class OriginalSrcFilterTest {

    private static final InetSocketAddress LOCAL = new InetSocketAddress("10.1.0.3", 9091);
    private static final InetSocketAddress CLIENT = new InetSocketAddress("10.1.0.2", 40000);

    private static OriginalSrcFilter filter(OriginalSrc config) throws ConfigException {
        return (OriginalSrcFilter) new OriginalSrcFilter.Factory().create(Any.pack(config), null).get();
    }

    @Test
    void theUpstreamSourceIsTheClientsAddressWithTheMark() throws Exception {
        FakeListenerFilterCallbacks cb = new FakeListenerFilterCallbacks(LOCAL, CLIENT);
        assertEquals(FilterStatus.CONTINUE, filter(OriginalSrc.newBuilder().setMark(1337).build()).onAccept(cb));
        assertEquals(new InetSocketAddress("10.1.0.2", 0), cb.info.upstreamSource());
        assertEquals(1337, cb.info.upstreamMark());
        cb.channel.finishAndReleaseAll();

        FakeListenerFilterCallbacks port = new FakeListenerFilterCallbacks(LOCAL, CLIENT);
        filter(OriginalSrc.newBuilder().setBindPort(true).build()).onAccept(port);
        assertEquals(CLIENT, port.info.upstreamSource());
        assertEquals(0, port.info.upstreamMark());
        port.channel.finishAndReleaseAll();
    }

    @Test
    void withoutTheFilterTheClusterChoosesTheSource() {
        FakeListenerFilterCallbacks cb = new FakeListenerFilterCallbacks(LOCAL, CLIENT);
        assertNull(cb.info.upstreamSource());
        cb.channel.finishAndReleaseAll();
    }

    @Test
    void anotherConfigTypeIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> new OriginalSrcFilter.Factory()
                .create(Any.pack(com.google.protobuf.Empty.getDefaultInstance()), null));
        assertEquals("typed_config: type.googleapis.com/google.protobuf.Empty (expected: "
                + "type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc)", e.getMessage());
    }
}

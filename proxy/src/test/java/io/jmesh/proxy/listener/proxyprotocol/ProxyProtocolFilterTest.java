package io.jmesh.proxy.listener.proxyprotocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.core.v3.ProxyProtocolConfig;
import io.envoyproxy.envoy.config.core.v3.ProxyProtocolPassThroughTLVs;
import io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.listener.FakeListenerFilterCallbacks;
import io.jmesh.proxy.listener.ListenerFilter;
import io.jmesh.proxy.network.FilterStatus;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** The PROXY protocol parser: v1 and v2 headers, partial input, bad input, and the config Envoy allows. */
class ProxyProtocolFilterTest {

    static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 15006);
    static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 40000);
    static final byte[] SIG = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private final FakeListenerFilterCallbacks cb = new FakeListenerFilterCallbacks(LOCAL, REMOTE);

    @AfterEach
    void release() {
        if (cb.peeked != null) {
            cb.peeked.release();
        }
        cb.channel.finishAndReleaseAll();
    }

    static ListenerFilter filter(ProxyProtocol cfg) throws ConfigException {
        return new ProxyProtocolFilter.Factory().create(Any.pack(cfg), (ExtensionContext) null).get();
    }

    private FilterStatus feed(ListenerFilter f, ByteBuf bytes) {
        cb.peeked = bytes;
        return f.onData(cb, bytes);
    }

    @Test
    void v1Tcp4SetsAddressesAndConsumesOnlyTheHeader() throws Exception {
        ListenerFilter f = filter(ProxyProtocol.getDefaultInstance());
        assertEquals(FilterStatus.STOP_ITERATION, f.onAccept(cb));
        ByteBuf in = Unpooled.copiedBuffer("PROXY TCP4 192.0.2.1 198.51.100.2 56324 9080\r\nGET /", StandardCharsets.US_ASCII);
        assertEquals(FilterStatus.CONTINUE, feed(f, in));
        assertEquals(new InetSocketAddress("192.0.2.1", 56324), cb.info.remoteAddress());
        assertEquals(new InetSocketAddress("198.51.100.2", 9080), cb.info.originalDestination());
        assertEquals("GET /", in.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void v1Tcp6AndUnknown() throws Exception {
        ListenerFilter f = filter(ProxyProtocol.getDefaultInstance());
        assertEquals(FilterStatus.CONTINUE, feed(f, Unpooled.copiedBuffer(
                "PROXY TCP6 2001:db8::1 2001:db8::2 1000 443\r\n", StandardCharsets.US_ASCII)));
        assertEquals(new InetSocketAddress("2001:db8::1", 1000), cb.info.remoteAddress());
        assertFalse(cb.peeked.isReadable());
        cb.peeked.release();
        FakeListenerFilterCallbacks other = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        ByteBuf unknown = Unpooled.copiedBuffer("PROXY UNKNOWN\r\nx", StandardCharsets.US_ASCII);
        other.peeked = unknown;
        assertEquals(FilterStatus.CONTINUE, f.onData(other, unknown));
        assertEquals(REMOTE, other.info.remoteAddress(), "UNKNOWN keeps the socket's addresses");
        assertNull(other.info.originalDestination());
        assertEquals("x", unknown.toString(StandardCharsets.US_ASCII));
        unknown.release();
        cb.peeked = null;
    }

    @Test
    void partialHeaderWaitsForMore() throws Exception {
        ListenerFilter f = filter(ProxyProtocol.getDefaultInstance());
        ByteBuf in = Unpooled.buffer();
        in.writeCharSequence("PRO", StandardCharsets.US_ASCII);
        assertEquals(FilterStatus.STOP_ITERATION, feed(f, in));
        in.writeCharSequence("XY TCP4 10.0.0.1 10.0.0.2 1 2", StandardCharsets.US_ASCII);
        assertEquals(FilterStatus.STOP_ITERATION, feed(f, in));
        in.writeCharSequence("\r\n", StandardCharsets.US_ASCII);
        assertEquals(FilterStatus.CONTINUE, feed(f, in));
        assertEquals(new InetSocketAddress("10.0.0.1", 1), cb.info.remoteAddress());
        assertTrue(cb.channel.isOpen());
    }

    @Test
    void badOrMissingHeaderClosesUnlessAllowed() throws Exception {
        ListenerFilter f = filter(ProxyProtocol.getDefaultInstance());
        feed(f, Unpooled.copiedBuffer("PROXY TCP4 10.0.0.1 nope 1 2\r\n", StandardCharsets.US_ASCII));
        assertFalse(cb.channel.isOpen(), "bad address closes");
        cb.peeked.release();
        FakeListenerFilterCallbacks plain = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        ByteBuf get = Unpooled.copiedBuffer("GET / HTTP/1.1\r\n", StandardCharsets.US_ASCII);
        plain.peeked = get;
        f.onData(plain, get);
        assertFalse(plain.channel.isOpen(), "no header closes");
        FakeListenerFilterCallbacks allowed = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        allowed.peeked = get;
        assertEquals(FilterStatus.CONTINUE, filter(ProxyProtocol.newBuilder().setAllowRequestsWithoutProxyProtocol(true)
                .build()).onData(allowed, get));
        assertTrue(allowed.channel.isOpen());
        assertEquals(16, get.readableBytes(), "nothing consumed");
        get.release();
        cb.peeked = null;
    }

    static ByteBuf v2(int verCmd, int fam, byte[] addresses, byte[] tlvs) {
        ByteBuf b = Unpooled.buffer();
        b.writeBytes(SIG).writeByte(verCmd).writeByte(fam).writeShort(addresses.length + tlvs.length);
        b.writeBytes(addresses).writeBytes(tlvs);
        return b;
    }

    @Test
    void v2ProxyTcp6WithTlvsAndLocal() throws Exception {
        ListenerFilter f = filter(ProxyProtocol.getDefaultInstance());
        byte[] a = new byte[36];
        a[0] = 0x20; a[1] = 0x01; a[15] = 1;      // 2001::1
        a[16] = 0x20; a[17] = 0x01; a[31] = 2;    // 2001::2
        a[32] = 0x12; a[33] = 0x34; a[34] = 0x01; a[35] = (byte) 0xbb;
        ByteBuf in = v2(0x21, 0x21, a, new byte[] {0x04, 0x00, 0x01, 0x07});
        in.writeCharSequence("rest", StandardCharsets.US_ASCII);
        assertEquals(FilterStatus.CONTINUE, feed(f, in));
        assertEquals(new InetSocketAddress("2001::1", 0x1234), cb.info.remoteAddress());
        assertEquals(new InetSocketAddress("2001::2", 443), cb.info.originalDestination());
        assertEquals("rest", in.toString(StandardCharsets.US_ASCII));
        in.release();
        FakeListenerFilterCallbacks local = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        ByteBuf health = v2(0x20, 0x00, new byte[0], new byte[0]);
        local.peeked = health;
        assertEquals(FilterStatus.CONTINUE, f.onData(local, health));
        assertEquals(REMOTE, local.info.remoteAddress(), "LOCAL keeps the socket's addresses");
        assertFalse(health.isReadable());
        health.release();
        cb.peeked = null;
    }

    @Test
    void disallowedVersionCloses() throws Exception {
        ListenerFilter f = filter(ProxyProtocol.newBuilder().addDisallowedVersions(ProxyProtocolConfig.Version.V1).build());
        feed(f, Unpooled.copiedBuffer("PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n", StandardCharsets.US_ASCII));
        assertFalse(cb.channel.isOpen());
    }

    @Test
    void unsupportedOptionsAreRefusedByName() {
        ConfigException rules = assertThrows(ConfigException.class, () -> filter(ProxyProtocol.newBuilder()
                .addRules(ProxyProtocol.Rule.newBuilder().setTlvType(0xE0)).build()));
        assertEquals("typed_config.rules: 1 rules (expected: none; TLVs into dynamic metadata are not supported)",
                rules.getMessage());
        ConfigException tlvs = assertThrows(ConfigException.class, () -> filter(ProxyProtocol.newBuilder()
                .setPassThroughTlvs(ProxyProtocolPassThroughTLVs.getDefaultInstance()).build()));
        assertTrue(tlvs.getMessage().startsWith("typed_config.pass_through_tlvs"), tlvs.getMessage());
    }
}

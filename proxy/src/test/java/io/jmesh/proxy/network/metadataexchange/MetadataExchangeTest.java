package io.jmesh.proxy.network.metadataexchange;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.jmesh.proxy.config.ConfigException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/** The exchange header's bytes, the filter's config, and a connection without TLS (no exchange, bytes untouched). */
class MetadataExchangeTest {

    private static Any typedStruct(Struct value) {
        return Any.pack(com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl(MetadataExchange.TYPE_URL)
                .setValue(value).build());
    }

    @Test
    void frameIsMagicLengthThenAnAnyOfTheStruct() throws Exception {
        Struct md = Struct.newBuilder().putFields("WORKLOAD_NAME", Value.newBuilder().setStringValue("reviews-v1")
                .build()).build();
        byte[] f = MetadataExchange.frame(md, "sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local");
        assertArrayEquals(new byte[] {0x3D, 0x23, 0x04, 0x67}, Arrays.copyOf(f, 4));
        int length = ((f[4] & 0xff) << 24) | ((f[5] & 0xff) << 16) | ((f[6] & 0xff) << 8) | (f[7] & 0xff);
        assertEquals(f.length - 8, length);
        Any any = Any.parseFrom(Arrays.copyOfRange(f, 8, f.length));
        assertEquals("type.googleapis.com/google.protobuf.Struct", any.getTypeUrl());
        Struct data = Struct.parseFrom(any.getValue());
        assertEquals(md, data.getFieldsOrThrow("x-envoy-peer-metadata").getStructValue());
        assertEquals("sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local",
                data.getFieldsOrThrow("x-envoy-peer-metadata-id").getStringValue());
        MetadataExchange.Peer back = MetadataExchange.parseData(Arrays.copyOfRange(f, 8, f.length));
        assertEquals(md, back.metadata());
    }

    @Test
    void configGivesTheProtocolPackedOrAsATypedStruct() throws Exception {
        assertEquals("istio-peer-exchange", MetadataExchange.protocol(typedStruct(Struct.newBuilder()
                .putFields("protocol", Value.newBuilder().setStringValue("istio-peer-exchange").build()).build())));
        // envoy.tcp.metadataexchange.config.MetadataExchange { protocol = 1 }, packed
        byte[] proto = new byte[] {10, 5, 'a', 'l', 'p', 'n', 'x'};
        assertEquals("alpnx", MetadataExchange.protocol(Any.newBuilder().setTypeUrl(MetadataExchange.TYPE_URL)
                .setValue(ByteString.copyFrom(proto)).build()));
    }

    @Test
    void badConfigNamesTheField() {
        ConfigException empty = assertThrows(ConfigException.class, () -> MetadataExchange.protocol(
                typedStruct(Struct.getDefaultInstance())));
        assertTrue(empty.getMessage().startsWith("protocol: \"\" (expected: "), empty.getMessage());
        ConfigException unknown = assertThrows(ConfigException.class, () -> MetadataExchange.protocol(
                typedStruct(Struct.newBuilder().putFields("protocl", Value.newBuilder().setStringValue("x").build())
                        .build())));
        assertTrue(unknown.getMessage().startsWith("value.protocl: unknown field"), unknown.getMessage());
        ConfigException type = assertThrows(ConfigException.class, () -> MetadataExchange.protocol(
                Any.pack(Struct.getDefaultInstance())));
        assertTrue(type.getMessage().startsWith("@type: type.googleapis.com/google.protobuf.Struct (expected: "),
                type.getMessage());
    }

    @Test
    void withoutTlsNothingIsExchangedAndTheBytesPassUntouched() {
        PeerSlot slot = new PeerSlot();
        EmbeddedChannel ch = new EmbeddedChannel(new MetadataExchangeHandler(MetadataExchange.PROTOCOL,
                MetadataExchange.frame(Struct.getDefaultInstance(), "me"), slot));
        assertTrue(slot.done());
        assertNull(slot.metadata());
        assertTrue(ch.writeInbound(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII)));
        ByteBuf in = ch.readInbound();
        assertEquals("hello", in.toString(StandardCharsets.US_ASCII));
        in.release();
        assertTrue(ch.writeOutbound(Unpooled.copiedBuffer("back", StandardCharsets.US_ASCII)));
        ByteBuf out = ch.readOutbound();
        assertEquals("back", out.toString(StandardCharsets.US_ASCII));
        out.release();
        assertEquals(false, ch.finish());
    }
}

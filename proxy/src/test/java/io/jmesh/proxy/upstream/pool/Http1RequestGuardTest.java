package io.jmesh.proxy.upstream.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.CharsetUtil;

/** The guard before the upstream HTTP/1.1 encoder: nothing that could inject a line is ever encoded. */
class Http1RequestGuardTest {

    private final List<String> refusals = new ArrayList<>();
    private final EmbeddedChannel ch = new EmbeddedChannel(new HttpRequestEncoder(), new Http1RequestGuard(refusals::add));

    /** A request whose headers were not validated when set (as a filter copying a JWT claim might build it). */
    private static HttpRequest request(String uri) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri,
                DefaultHttpHeadersFactory.headersFactory().withValidation(false));
    }

    private String written() {
        StringBuilder b = new StringBuilder();
        ByteBuf buf;
        while ((buf = ch.readOutbound()) != null) {
            b.append(buf.toString(CharsetUtil.ISO_8859_1));
            buf.release();
        }
        return b.toString();
    }

    @Test
    void safeRequestIsEncoded() {
        HttpRequest r = request("/a?b=c");
        r.headers().add("x-claim", "alice smith");
        ch.writeOutbound(r, LastHttpContent.EMPTY_LAST_CONTENT);
        assertTrue(written().startsWith("GET /a?b=c HTTP/1.1\r\nx-claim: alice smith\r\n"));
        assertEquals(List.of(), refusals);
    }

    @Test
    void crLfInValueIsNeverEncoded() {
        HttpRequest r = request("/");
        r.headers().add("x-claim", "alice\r\nx-injected: 1\r\n\r\nGET /smuggled HTTP/1.1");
        ch.write(r);
        ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        assertEquals("", written());
        assertEquals(List.of("invalid header x-claim"), refusals);
    }

    @Test
    void nulInValueAndBadNameAreNeverEncoded() {
        HttpRequest r = request("/");
        r.headers().add("x-rpc", "a\0b");
        ch.writeAndFlush(r);
        assertEquals("", written());
        EmbeddedChannel other = new EmbeddedChannel(new HttpRequestEncoder(), new Http1RequestGuard(refusals::add));
        HttpRequest r2 = request("/");
        r2.headers().add("x a", "b");
        other.writeAndFlush(r2);
        assertNull(other.readOutbound());
        assertEquals(2, refusals.size());
    }

    @Test
    void trailerWithLfIsNeverEncoded() {
        HttpRequest r = request("/");
        r.headers().add("transfer-encoding", "chunked");
        ch.writeAndFlush(r);
        assertTrue(written().startsWith("GET / HTTP/1.1"));
        LastHttpContent last = new DefaultLastHttpContent(io.netty.buffer.Unpooled.EMPTY_BUFFER,
                DefaultHttpHeadersFactory.trailersFactory().withValidation(false));
        last.trailingHeaders().add("x-t", "a\nGET /smuggled HTTP/1.1");
        ch.writeAndFlush(last);
        assertEquals("", written());
        assertEquals(List.of("invalid trailer x-t"), refusals);
    }
}

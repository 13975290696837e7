package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/** The HTTP view policy engines read: protocol, host, method, path, headers with pseudo-headers, live. */
class HttpRequestAttributesTest {

    @Test
    void readsTheRequestAsItIsNow() {
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/pkg.Greeter/SayHello?x=1");
        req.headers().add("Host", "greeter.default:50051").add("X-Multi", "a").add("x-multi", "b");
        ConnectionInfo conn = ConnectionInfo.create(new InetSocketAddress("127.0.0.1", 15006),
                new InetSocketAddress("127.0.0.2", 40000));
        HttpRequestAttributes a = new HttpRequestAttributes(req, conn, "https");

        assertEquals("http", a.protocol());
        assertEquals("greeter.default:50051", a.host());
        assertEquals("POST", a.method());
        assertEquals("/pkg.Greeter/SayHello?x=1", a.path());
        assertEquals("greeter.default:50051", a.header(":authority"));
        assertEquals("POST", a.header(":METHOD"));
        assertEquals("https", a.header(":scheme"));
        assertEquals("a,b", a.header("x-multi"));
        assertNull(a.header("absent"));
        assertSame(conn, a.connection());

        req.headers().set("content-type", "application/grpc+proto"); // a later change is seen
        assertEquals("grpc", a.protocol());

        List<String> all = new ArrayList<>();
        a.forEachHeader((k, v) -> all.add(k + "=" + v));
        assertEquals(List.of(":method=POST", ":path=/pkg.Greeter/SayHello?x=1", ":authority=greeter.default:50051",
                ":scheme=https", "x-multi=a", "x-multi=b", "content-type=application/grpc+proto"), all);
    }
}

package io.jmesh.proxy.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/** Removes hop-by-hop headers before a message is forwarded (RFC 9110 §7.6.1), as the connection manager and the router do. */
public final class HopByHopHeaders {

    private static final AsciiString KEEP_ALIVE = AsciiString.cached("keep-alive");
    private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    private static final String HTTP2_EXT_PREFIX = "x-http2-";

    private HopByHopHeaders() {}

    /**
     * Removes the headers that {@code Connection} names, {@code Connection} itself, {@code keep-alive},
     * {@code proxy-connection} and {@code upgrade}; with {@code keepUpgrade} the upgrade (and
     * {@code connection: upgrade}) stays. With {@code http2Extensions}, also HTTP/2's {@code x-http2-*} headers.
     */
    public static void remove(HttpHeaders h, boolean keepUpgrade, boolean http2Extensions) {
        String connection = h.get(HttpHeaderNames.CONNECTION);
        if (connection != null) {
            for (String token : connection.split(",")) {
                String t = token.trim();
                if (!t.isEmpty() && !(keepUpgrade && t.equalsIgnoreCase("upgrade"))) {
                    h.remove(t);
                }
            }
            if (!keepUpgrade) {
                h.remove(HttpHeaderNames.CONNECTION);
            } else {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            }
        }
        h.remove(KEEP_ALIVE);
        h.remove(PROXY_CONNECTION);
        if (!keepUpgrade) {
            h.remove(HttpHeaderNames.UPGRADE);
        }
        if (http2Extensions) {
            Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
            List<CharSequence> ext = null;
            while (it.hasNext()) {
                CharSequence name = it.next().getKey();
                if (name.length() > HTTP2_EXT_PREFIX.length()
                        && AsciiString.regionMatches(name, true, 0, HTTP2_EXT_PREFIX, 0, HTTP2_EXT_PREFIX.length())) {
                    if (ext == null) {
                        ext = new ArrayList<>(2);
                    }
                    ext.add(name);
                }
            }
            if (ext != null) {
                ext.forEach(h::remove);
            }
        }
    }
}

package io.jmesh.proxy.network.http;

import java.util.List;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Checks on a decoded HTTP/1.x request head that Netty's decoder leaves to the application, applied by
 * {@link Http1ServerHandler} before anything is forwarded:
 * <ul>
 *   <li>{@code Transfer-Encoding} must be exactly {@code chunked}: any other coding ({@code xchunked},
 *   {@code gzip, chunked}, {@code chunked, chunked}) is 501 and the connection closes (RFC 9112 section 6.1;
 *   Envoy's {@code http1.invalid_transfer_encoding}). Netty would otherwise treat an unknown coding as "no body"
 *   and parse the body as the next request.</li>
 *   <li>at most {@code max_headers_count} header fields (Envoy's default 100), else 431
 *   ({@code http1.too_many_headers}); trailers count the same.</li>
 * </ul>
 * What Netty already refuses (400): {@code Content-Length} with {@code Transfer-Encoding}, differing or
 * repeated {@code Content-Length}, a signed or non-numeric length, {@code Transfer-Encoding} in HTTP/1.0, bare
 * CR or LF, NUL and other control characters in a field, an over-long or non-hex chunk size.
 */
final class Http1RequestChecks {

    /** A refused request: the status and Envoy's response code details. */
    record Refusal(HttpResponseStatus status, String details) {}

    static final Refusal INVALID_TRANSFER_ENCODING =
            new Refusal(HttpResponseStatus.NOT_IMPLEMENTED, "http1.invalid_transfer_encoding");
    static final Refusal TOO_MANY_HEADERS =
            new Refusal(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "http1.too_many_headers");

    private Http1RequestChecks() {}

    /** Returns why {@code req} must be refused, or null if it may go on. */
    static Refusal check(HttpRequest req, int maxHeadersCount) {
        HttpHeaders h = req.headers();
        if (h.size() > maxHeadersCount) {
            return TOO_MANY_HEADERS;
        }
        List<String> te = h.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!te.isEmpty() && !(te.size() == 1 && te.get(0).trim().equalsIgnoreCase("chunked"))) {
            return INVALID_TRANSFER_ENCODING;
        }
        return null;
    }

    /** Whether trailers exceed {@code max_headers_count}. */
    static boolean tooManyTrailers(HttpHeaders trailers, int maxHeadersCount) {
        return trailers.size() > maxHeadersCount;
    }
}

/**
 * Dubbo, the default protocol of Apache Dubbo ({@code dubbo://}, {@code ExchangeCodec} and
 * {@code DubboCodec}): {@link io.jmesh.codec.dubbo.DubboDecoder} turns frames into
 * {@link io.jmesh.codec.dubbo.DubboRequest}s and {@link io.jmesh.codec.dubbo.DubboResponse}s, reading the
 * 16-byte header and, for Hessian2 requests, only the routing fields of the body; the body itself stays
 * an untouched slice of the received bytes, and {@link io.jmesh.codec.dubbo.DubboEncoder} writes the
 * frame back, with a new request id if one was set.
 *
 * <pre>
 * 0           2     3     4                                               12                      16
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * |  magic    | flag|status|                 request id                   |      body length      |
 * |  0xdabb   |     |     |                  (int64)                      |       (int32)         |
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * | body (body length bytes, serialized with the serialization named by flag)                     |
 * +-----------------------------------------------------------------------------------------------+
 *
 * flag:   0x80 request (else response) | 0x40 two-way | 0x20 event | low 5 bits serialization id
 *         (2 = hessian2)
 * status: responses only (20 = OK, 30 client timeout, 31 server timeout, 40 bad request,
 *         50 bad response, 60 service not found, 70 service error, 80 server error, 90 client error,
 *         100 server thread pool exhausted); 0 in requests
 *
 * Request body (Hessian2), in order:
 *   string dubbo version ("2.0.2") | string service path | string service version | string method
 *   | string parameter descriptor (e.g. "Ljava/lang/String;I") | one value per argument
 *   | map attachments (path, interface, version, group, timeout, ...)
 * Response body: OK: int flag (0 exception, 1 value, 2 null, +3 with attachments) then the value;
 *   any other status: a string error message.
 * Event (heartbeat when the body is null, Hessian2 "N"): the flag has 0x20 set.
 * </pre>
 *
 * All multi-byte fields are big-endian. A message belongs to one event loop at a time.
 *
 * @see <a href="https://dubbo.apache.org/en/docs/concepts/rpc-protocol/">Dubbo protocol</a>
 */
package io.jmesh.codec.dubbo;

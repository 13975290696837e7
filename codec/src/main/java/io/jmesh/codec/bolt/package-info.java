/**
 * Bolt, the protocol of SOFARPC (sofa-bolt's {@code RpcProtocol} v1 and {@code RpcProtocolV2} v2):
 * {@link io.jmesh.codec.bolt.BoltDecoder} turns frames into {@link io.jmesh.codec.bolt.BoltRequest}s and
 * {@link io.jmesh.codec.bolt.BoltResponse}s, decoding the fixed header, the class name and the header
 * map only; the content (the Hessian2 body) stays an untouched slice of the received bytes, and
 * {@link io.jmesh.codec.bolt.BoltEncoder} writes the frame back, with a new request id if one was set.
 *
 * <pre>
 * Request, v1 (proto 0x01), 22-byte fixed header:
 * 0     1     2           4     5                       9    10                      14          16
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * |proto| type| cmdcode   |ver2 |      requestId        |codec|       timeout         | classLen  |
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * | headerLen | contentLen            | className ... header map ... content ...                  |
 * +-----+-----+-----+-----+-----+-----+                                                           +
 *
 * Response, v1: 20-byte fixed header, a 2-byte respStatus where the request has its timeout:
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * |proto| type| cmdcode   |ver2 |      requestId        |codec|respStatus | classLen  | headerLen |
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * | contentLen            | className ... header map ... content ...                              |
 *
 * v2 (proto 0x02) adds ver1 after proto and a switch byte after codec (24-byte request header,
 * 22-byte response header); when bit 0 of switch is set a CRC32 of all preceding bytes of the frame
 * follows the content:
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * |proto|ver1 | type| cmdcode   |ver2 |      requestId        |codec|switch| timeout / respStatus  |
 * +-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+-----+
 * | classLen  | headerLen | contentLen            | className | header map | content | CRC32     |
 *
 * type:    0x00 response, 0x01 request, 0x02 oneway request
 * cmdcode: 0x0000 heartbeat, 0x0001 RPC request, 0x0002 RPC response
 * codec:   0x01 Hessian2
 * header map: repeated [int32 keyLen][key UTF-8][int32 valueLen][value UTF-8]; a length of -1 is null
 * </pre>
 *
 * All multi-byte fields are big-endian. The types here are not thread-safe beyond what Netty's
 * reference counting gives: a message belongs to one event loop at a time.
 *
 * @see <a href="https://github.com/sofastack/sofa-bolt/wiki/SOFA-Bolt-Protocol-Basic-Design">SOFA Bolt
 *      protocol design</a>
 */
package io.jmesh.codec.bolt;

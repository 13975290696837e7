package io.jmesh.proxy.listener;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.netty.buffer.ByteBuf;

/**
 * What filter-chain matching needs from a TLS ClientHello: the SNI host name and the ALPN protocols
 * (RFC 8446 section 4.1.2, RFC 6066 section 3, RFC 7301). Reads without consuming.
 *
 * <pre>
 * record:    0x16 | version(2) | length(2) | handshake...
 * handshake: 0x01 | length(3) | client_version(2) | random(32) | session_id(1+n)
 *            | cipher_suites(2+n) | compression_methods(1+n) | extensions(2+n)
 * extension: type(2) | length(2) | data     (0 = server_name, 16 = ALPN)
 * </pre>
 */
final class ClientHello {

    /** The most bytes waited for before giving up on finding a ClientHello (one TLS record). */
    static final int MAX_BYTES = 16 * 1024 + 5;

    final String serverName;
    final List<String> alpn;

    private ClientHello(String serverName, List<String> alpn) {
        this.serverName = serverName;
        this.alpn = alpn;
    }

    /** Whether the first byte says "TLS handshake record". */
    static boolean looksLikeTls(ByteBuf in) {
        return in.readableBytes() > 0 && in.getUnsignedByte(in.readerIndex()) == 0x16;
    }

    /**
     * Parses the ClientHello at the reader index. Returns null when more bytes are needed; a ClientHello with no
     * SNI and no ALPN when the record is not a parsable ClientHello.
     */
    static ClientHello parse(ByteBuf in) {
        int start = in.readerIndex();
        if (in.readableBytes() < 5) {
            return null;
        }
        int recordLength = in.getUnsignedShort(start + 3);
        if (in.readableBytes() < 5 + recordLength) {
            return null;
        }
        try {
            int p = start + 5;
            int end = p + recordLength;
            if (in.getUnsignedByte(p) != 0x01) {
                return new ClientHello(null, List.of());
            }
            p += 4;      // type + length
            p += 2 + 32; // client_version + random
            p += 1 + in.getUnsignedByte(p);
            p += 2 + in.getUnsignedShort(p);
            p += 1 + in.getUnsignedByte(p);
            if (p + 2 > end) {
                return new ClientHello(null, List.of());
            }
            int extEnd = Math.min(end, p + 2 + in.getUnsignedShort(p));
            p += 2;
            String sni = null;
            List<String> alpn = new ArrayList<>(2);
            while (p + 4 <= extEnd) {
                int type = in.getUnsignedShort(p);
                int len = in.getUnsignedShort(p + 2);
                int data = p + 4;
                if (type == 0 && len >= 5) {
                    int nameLen = in.getUnsignedShort(data + 3);
                    if (in.getUnsignedByte(data + 2) == 0 && data + 5 + nameLen <= extEnd) {
                        sni = in.toString(data + 5, nameLen, java.nio.charset.StandardCharsets.US_ASCII)
                                .toLowerCase(Locale.ROOT);
                    }
                } else if (type == 16 && len >= 2) {
                    int q = data + 2;
                    int listEnd = Math.min(data + len, q + in.getUnsignedShort(data));
                    while (q < listEnd) {
                        int l = in.getUnsignedByte(q);
                        if (q + 1 + l > listEnd) {
                            break;
                        }
                        alpn.add(in.toString(q + 1, l, java.nio.charset.StandardCharsets.US_ASCII));
                        q += 1 + l;
                    }
                }
                p = data + len;
            }
            return new ClientHello(sni, List.copyOf(alpn));
        } catch (IndexOutOfBoundsException e) {
            return new ClientHello(null, List.of());
        }
    }
}

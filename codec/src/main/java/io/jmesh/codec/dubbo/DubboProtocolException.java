package io.jmesh.codec.dubbo;

import io.netty.handler.codec.DecoderException;

/**
 * A Dubbo frame is malformed or over a limit. It ends the connection: once thrown, the
 * {@link DubboDecoder} that threw discards everything that follows, and the caller closes the channel.
 */
public final class DubboProtocolException extends DecoderException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception with the reason, in the form {@code field: value (expected: ...)}. */
    public DubboProtocolException(String message) {
        super(message);
    }
}

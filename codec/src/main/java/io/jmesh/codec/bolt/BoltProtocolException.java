package io.jmesh.codec.bolt;

import io.netty.handler.codec.DecoderException;

/**
 * A Bolt frame is malformed or over a limit. It ends the connection: once thrown, the
 * {@link BoltDecoder} that threw discards everything that follows, and the caller closes the channel.
 */
public final class BoltProtocolException extends DecoderException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception with the reason, in the form {@code field: value (expected: ...)}. */
    public BoltProtocolException(String message) {
        super(message);
    }
}

package io.jmesh.codec.bolt;

/**
 * The {@code respStatus} values of a Bolt response, as sofa-bolt's {@code ResponseStatus} defines them.
 * A SOFARPC client turns each non-zero status into its own exception (for example
 * {@link #SERVER_THREADPOOL_BUSY} into {@code InvokeServerBusyException}, {@link #TIMEOUT} into
 * {@code InvokeTimeoutException}); see {@link BoltResponse#error(BoltRequest, short,
 * io.netty.buffer.ByteBufAllocator)}.
 */
public final class BoltResponseStatus {

    /** The call succeeded; the content holds the result. */
    public static final short SUCCESS = 0x0000;
    /** Error for an unknown reason. */
    public static final short ERROR = 0x0001;
    /** The server caught an exception; the content may hold the serialized {@code Throwable}. */
    public static final short SERVER_EXCEPTION = 0x0002;
    /** Unknown error. */
    public static final short UNKNOWN = 0x0003;
    /** The server's thread pool is busy. */
    public static final short SERVER_THREADPOOL_BUSY = 0x0004;
    /** Communication error. */
    public static final short ERROR_COMM = 0x0005;
    /** No processor for the request's class. */
    public static final short NO_PROCESSOR = 0x0006;
    /** The call timed out. */
    public static final short TIMEOUT = 0x0007;
    /** The request could not be sent. */
    public static final short CLIENT_SEND_ERROR = 0x0008;
    /** Encoding or decoding failed. */
    public static final short CODEC_EXCEPTION = 0x0009;
    /** The connection closed. */
    public static final short CONNECTION_CLOSED = 0x0010;
    /** The server could not serialize the response. */
    public static final short SERVER_SERIAL_EXCEPTION = 0x0011;
    /** The server could not deserialize the request. */
    public static final short SERVER_DESERIAL_EXCEPTION = 0x0012;

    private BoltResponseStatus() {}
}

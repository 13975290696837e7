package io.jmesh.codec.dubbo;

/** The status byte of a Dubbo response, as {@code org.apache.dubbo.remoting.exchange.Response} defines it. */
public final class DubboStatus {

    /** The call succeeded. */
    public static final byte OK = 20;
    /** The body could not be serialized or deserialized. */
    public static final byte SERIALIZATION_ERROR = 25;
    /** The client timed out waiting (a Dubbo client surfaces it as a {@code TimeoutException}). */
    public static final byte CLIENT_TIMEOUT = 30;
    /** The server timed out. */
    public static final byte SERVER_TIMEOUT = 31;
    /** The channel became inactive; the request was not sent. */
    public static final byte CHANNEL_INACTIVE = 35;
    /** The request was malformed. */
    public static final byte BAD_REQUEST = 40;
    /** The response was malformed. */
    public static final byte BAD_RESPONSE = 50;
    /** No such service. */
    public static final byte SERVICE_NOT_FOUND = 60;
    /** The service failed. */
    public static final byte SERVICE_ERROR = 70;
    /** Internal server error. */
    public static final byte SERVER_ERROR = 80;
    /** Internal client error. */
    public static final byte CLIENT_ERROR = 90;
    /** The server's thread pool is exhausted. */
    public static final byte SERVER_THREADPOOL_EXHAUSTED_ERROR = 100;

    private DubboStatus() {}
}

package io.jmesh.codec.internal;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * A decoded message that is a view over the bytes of one frame and owns one reference to them: its
 * reference count is the frame's, and releasing the message releases the frame. Views of the same frame
 * (e.g. a copy with another request id) share that count.
 *
 * @param <T> the concrete message type, returned by {@code retain} and {@code touch}
 */
public abstract class FrameMessage<T extends FrameMessage<T>> implements ReferenceCounted {

    /** The whole frame, header included. */
    protected final ByteBuf frame;

    protected FrameMessage(ByteBuf frame) {
        this.frame = frame;
    }

    /** The size of the whole frame in bytes, header included (for size metrics). */
    public final int frameBytes() {
        return frame.readableBytes();
    }

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    @Override
    public final int refCnt() {
        return frame.refCnt();
    }

    @Override
    public final T retain() {
        frame.retain();
        return self();
    }

    @Override
    public final T retain(int increment) {
        frame.retain(increment);
        return self();
    }

    @Override
    public final T touch() {
        frame.touch();
        return self();
    }

    @Override
    public final T touch(Object hint) {
        frame.touch(hint);
        return self();
    }

    @Override
    public final boolean release() {
        return frame.release();
    }

    @Override
    public final boolean release(int decrement) {
        return frame.release(decrement);
    }
}

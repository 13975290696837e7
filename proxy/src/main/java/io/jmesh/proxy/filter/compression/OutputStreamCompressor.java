package io.jmesh.proxy.filter.compression;

import java.io.IOException;
import java.io.OutputStream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A {@link StreamCompressor} over a library's {@link OutputStream} (JDK gzip, brotli4j, zstd-jni): each piece is
 * written then flushed (the library's sync flush), the end closes the stream (its trailer). The library writes
 * into a sink that appends to the {@code ByteBuf} being returned.
 */
final class OutputStreamCompressor implements StreamCompressor {

    /** Opens the library's compressing stream over {@code sink}. */
    interface Opener {
        OutputStream open(OutputStream sink) throws IOException;
    }

    private static final int COPY_CHUNK = 16 * 1024;

    private final Opener opener;
    private final Sink sink = new Sink();
    private OutputStream out;
    private byte[] scratch;
    private boolean done;

    OutputStreamCompressor(Opener opener) {
        this.opener = opener;
    }

    @Override
    public ByteBuf compress(ByteBuf in, boolean finish) throws IOException {
        ByteBufAllocator alloc = in.alloc();
        sink.target = alloc.buffer(Math.min(64 * 1024, in.readableBytes() / 2 + 64));
        try {
            if (done) {
                throw new IOException("the compressed stream already ended");
            }
            if (out == null) {
                out = opener.open(sink);
            }
            int n = in.readableBytes();
            if (n > 0) {
                if (in.hasArray()) {
                    out.write(in.array(), in.arrayOffset() + in.readerIndex(), n);
                } else {
                    if (scratch == null) {
                        scratch = new byte[COPY_CHUNK];
                    }
                    for (int i = in.readerIndex(), end = i + n; i < end; ) {
                        int c = Math.min(COPY_CHUNK, end - i);
                        in.getBytes(i, scratch, 0, c);
                        out.write(scratch, 0, c);
                        i += c;
                    }
                }
            }
            if (finish) {
                done = true;
                out.close();
            } else {
                out.flush();
            }
            ByteBuf r = sink.target;
            sink.target = null;
            return r;
        } catch (IOException | RuntimeException | Error e) {
            sink.target.release();
            sink.target = null;
            close();
            throw e;
        } finally {
            in.release();
        }
    }

    @Override
    public void close() {
        if (out != null && !done) {
            done = true;
            try {
                out.close(); // frees native memory; the output goes nowhere (no target)
            } catch (IOException | RuntimeException e) {
                // nothing left to tell: the body is abandoned
            }
        }
        done = true;
    }

    /** Appends to the current target buffer; drops bytes written when there is none (closing an abandoned body). */
    private static final class Sink extends OutputStream {
        ByteBuf target;

        @Override
        public void write(int b) {
            if (target != null) {
                target.writeByte(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (target != null) {
                target.writeBytes(b, off, len);
            }
        }
    }
}

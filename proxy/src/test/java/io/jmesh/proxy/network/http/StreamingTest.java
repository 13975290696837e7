package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * Bodies stream through: a 1 GiB upload and a 512 MiB download pass a proxy running in a test JVM
 * limited to 1 GiB of heap, so buffering a body whole would fail them.
 */
class StreamingTest {

    @Test
    void oneGibUploadAndLargeDownloadStream() throws Exception {
        try (TestBackend backend = TestBackend.start("sink");
             ProxyFixture proxy = HttpProxyTest.config(backend.port(), 1).start(2)) {
            long size = 1L << 30;
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            HttpRequest up = HttpRequest.newBuilder(URI.create(proxy.url("/sink")))
                    .timeout(Duration.ofSeconds(120))
                    .POST(HttpRequest.BodyPublishers.fromPublisher(new Zeros(size), size)).build();
            HttpResponse<String> r = client.send(up, HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertEquals("received " + size + "\n", r.body());

            long down = 512L << 20;
            HttpRequest get = HttpRequest.newBuilder(URI.create(proxy.url("/bytes/" + down))).timeout(Duration.ofSeconds(120)).build();
            AtomicLong seen = new AtomicLong();
            HttpResponse<Void> d = client.send(get, HttpResponse.BodyHandlers.fromSubscriber(new Flow.Subscriber<java.util.List<ByteBuffer>>() {
                Flow.Subscription s;

                @Override
                public void onSubscribe(Flow.Subscription s) {
                    this.s = s;
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(java.util.List<ByteBuffer> items) {
                    items.forEach(b -> seen.addAndGet(b.remaining()));
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onComplete() {}
            }));
            assertEquals(200, d.statusCode());
            assertEquals(down, seen.get());
            assertTrue(Runtime.getRuntime().maxMemory() <= (1L << 30) + (64L << 20), "test JVM heap bounded");
        }
    }

    /** Publishes {@code size} zero bytes in 64 KiB pieces, on demand. */
    static final class Zeros implements Flow.Publisher<ByteBuffer> {
        private final long size;

        Zeros(long size) {
            this.size = size;
        }

        @Override
        public void subscribe(Flow.Subscriber<? super ByteBuffer> sub) {
            sub.onSubscribe(new Flow.Subscription() {
                long sent;
                boolean done;

                @Override
                public synchronized void request(long n) {
                    while (n-- > 0 && !done) {
                        if (sent >= size) {
                            done = true;
                            sub.onComplete();
                            return;
                        }
                        int c = (int) Math.min(65536, size - sent);
                        sent += c;
                        sub.onNext(ByteBuffer.allocate(c));
                    }
                }

                @Override
                public void cancel() {
                    done = true;
                }
            });
        }
    }
}

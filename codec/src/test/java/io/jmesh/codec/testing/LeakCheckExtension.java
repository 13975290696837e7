package io.jmesh.codec.testing;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;

/**
 * Fails a test class when Netty's leak detector (PARANOID in this build) reports a leaked buffer that
 * was allocated or touched by codec code ({@code io.jmesh.codec} in its access records); leaks that
 * belong only to the real peers' own Netty use are not ours and are ignored. Registered through
 * {@code META-INF/services} with extension auto-detection, so it is installed before any buffer class
 * creates its detector.
 */
public final class LeakCheckExtension implements AfterAllCallback {

    private static final List<String> leaks = new ArrayList<>();

    static {
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            @SuppressWarnings("deprecation")
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                       long maxActive) {
                return new ResourceLeakDetector<T>(resource, samplingInterval) {
                    @Override
                    protected void reportTracedLeak(String resourceType, String records) {
                        super.reportTracedLeak(resourceType, records);
                        if (records.contains("io.jmesh.codec")) {
                            synchronized (leaks) {
                                leaks.add(resourceType + records);
                            }
                        }
                    }
                };
            }
        });
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        // Collect garbage, then allocate so that the detectors drain their reference queues.
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            for (int j = 0; j < 100; j++) {
                final ByteBuf a = UnpooledByteBufAllocator.DEFAULT.buffer(8);
                final ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(8);
                a.release();
                b.release();
            }
        }
        synchronized (leaks) {
            if (!leaks.isEmpty()) {
                final String first = leaks.get(0);
                leaks.clear();
                throw new AssertionError("LEAK in " + context.getDisplayName() + ": " + first);
            }
        }
    }
}

package io.jmesh.it.rpc;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;

/**
 * Real Dubbo 3 apps through two sidecars ({@link AbstractTwoSidecarsTest}): providers of {@link GreetingService}
 * ({@link DubboProviderMain}), a consumer with {@code setUrl("dubbo://127.0.0.1:<its sidecar's 20880 listener>")};
 * the canary header is an attachment ({@code RpcContext.getClientAttachment().setAttachment}).
 */
abstract class AbstractDubboTwoSidecarsTest extends AbstractTwoSidecarsTest {

    private DubboBootstrap consumer;
    private GreetingService greeting;


    /** The contract on loopback IPs {@code firstIp}.., with STRICT mutual TLS between the sidecars or not. */
    AbstractDubboTwoSidecarsTest(int firstIp, boolean mutualTls) {
        super("greeting", GreetingService.class, "greet", DubboProviderMain.class, false, RpcMesh.DUBBO_PORT, firstIp, mutualTls);
    }

    @Override
    void startConsumer(InetSocketAddress sidecar) throws Exception {
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        consumer = DubboApps.consumer(sidecar, reference);
        greeting = reference.get();
    }

    @Override
    void stopConsumer() {
        if (consumer != null) {
            consumer.stop();
        }
    }

    @Override
    String call(String name, boolean canary) {
        if (canary) {
            RpcContext.getClientAttachment().setAttachment("x-canary", "yes");
        }
        return greeting.greet(name);
    }

    @Override
    byte[][] malformedFrames() {
        final byte[] badMagic = ByteBuffer.allocate(16).putShort((short) 0xcafe).put((byte) 0xc2).array();
        final byte[] overLimit = ByteBuffer.allocate(16)
                .putShort((short) 0xdabb).put((byte) 0xc2).put((byte) 0).putLong(1).putInt(Integer.MAX_VALUE).array();
        final byte[] notHessian = ByteBuffer.allocate(24)
                .putShort((short) 0xdabb).put((byte) 0xc2).put((byte) 0).putLong(2).putInt(8)
                .putLong(0xffff_ffff_ffff_ffffL).array();
        return new byte[][] { badMagic, overLimit, notHessian };
    }
}

package io.jmesh.it.rpc;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;

/**
 * Real SOFARPC apps through two sidecars ({@link AbstractTwoSidecarsTest}): providers of {@link HelloService}
 * ({@link SofaProviderMain}, with Curator 4), a consumer with direct URL
 * {@code bolt://127.0.0.1:<its sidecar's 12200 listener>}; the canary header is a Bolt header-map entry
 * ({@code RpcInvokeContext.addCustomHeader}).
 */
abstract class AbstractSofaTwoSidecarsTest extends AbstractTwoSidecarsTest {

    private ConsumerConfig<HelloService> consumer;
    private HelloService hello;


    /** The contract on loopback IPs {@code firstIp}.., with STRICT mutual TLS between the sidecars or not. */
    AbstractSofaTwoSidecarsTest(int firstIp, boolean mutualTls) {
        super("hello", HelloService.class, "sayHello", SofaProviderMain.class, true, RpcMesh.BOLT_PORT, firstIp, mutualTls);
    }

    @Override
    void startConsumer(InetSocketAddress sidecar) {
        consumer = SofaApps.consumer(sidecar);
        hello = consumer.refer();
    }

    @Override
    void stopConsumer() {
        if (consumer != null) {
            consumer.unRefer();
        }
    }

    @Override
    String call(String name, boolean canary) {
        try {
            if (canary) {
                RpcInvokeContext.getContext().addCustomHeader("x-canary", "yes");
            }
            return hello.sayHello(name, 2);
        } finally {
            RpcInvokeContext.removeContext();
        }
    }

    /** A Bolt v1 request header (22 bytes): proto, type, cmdcode, ver2, id, codec, timeout, lengths. */
    private static ByteBuffer boltRequest(int capacity, int id, int headerLength, int contentLength) {
        return ByteBuffer.allocate(capacity).put((byte) 1).put((byte) 1).putShort((short) 1).put((byte) 1)
                .putInt(id).put((byte) 1).putInt(3000).putShort((short) 0).putShort((short) headerLength)
                .putInt(contentLength);
    }

    @Override
    byte[][] malformedFrames() {
        final byte[] badProto = boltRequest(22, 1, 0, 0).array();
        badProto[0] = 7;
        final byte[] overLimit = boltRequest(22, 2, 0, Integer.MAX_VALUE).array();
        // a header map whose first key claims 2 GiB inside an 8-byte map
        final byte[] badHeaderMap = boltRequest(30, 3, 8, 0).putInt(Integer.MAX_VALUE).putInt(0).array();
        return new byte[][] { badProto, overLimit, badHeaderMap };
    }
}

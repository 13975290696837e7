package io.jmesh.it.rpc;

import java.net.InetSocketAddress;

import com.alipay.sofa.rpc.config.ConsumerConfig;

/** A real SOFARPC consumer in the test JVM, pointed at its sidecar: the only change an app makes to join the mesh. */
final class SofaApps {

    private SofaApps() {}

    /** A consumer of {@link HelloService} with {@code bolt://<sidecar outbound>} as its direct URL; call refer(). */
    static ConsumerConfig<HelloService> consumer(InetSocketAddress sidecar) {
        return new ConsumerConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setProtocol("bolt")
                .setDirectUrl("bolt://127.0.0.1:" + sidecar.getPort())
                .setRegister(false)
                .setSubscribe(false)
                .setTimeout(5000);
    }
}

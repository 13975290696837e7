package io.jmesh.codec.bolt;

/** The service a real SOFARPC provider exports in {@link SofaRpcRealPeerTest}. */
public interface HelloService {
    String sayHello(String name, int times);
}

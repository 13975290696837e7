package io.jmesh.it.rpc;

/** The service the real SOFARPC provider exports. */
public interface HelloService {
    String sayHello(String name, int times);
}

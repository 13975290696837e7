package io.jmesh.discovery.registry.zookeeper;

/** The interface a real Dubbo provider exports in {@link DubboProviderRegistrationTest}. */
public interface DemoService {

    /** Returns a greeting. */
    String sayHello(String name);
}

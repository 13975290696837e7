package io.jmesh.it.rpc;

/** The service the real Dubbo provider exports. */
public interface GreetingService {
    String greet(String name);
}

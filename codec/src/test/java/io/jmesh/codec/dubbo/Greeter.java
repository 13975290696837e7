package io.jmesh.codec.dubbo;

import java.util.List;
import java.util.Map;

/** The service a real Dubbo provider exports in {@link DubboRealPeerTest}. */
public interface Greeter {
    String greet(String name);

    /** Arguments of many Hessian2 kinds, so the decoder has to skip them to reach the attachments. */
    String describe(Person person, Person same, Map<String, Object> options, List<Long> numbers, byte[] blob,
                    double ratio, boolean flag);
}

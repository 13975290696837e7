package io.jmesh.proxy.network.rpc;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.protocol.rpc.RpcCodec;

/**
 * The immutable registry of RPC codecs by {@linkplain RpcCodec#name() name}: the built-in Bolt and Dubbo, then every
 * {@link RpcCodec} registered with {@link ServiceLoader} ({@code META-INF/services/io.jmesh.proxy.protocol.rpc.RpcCodec}).
 * A loaded codec cannot replace a built-in one or another of the same name (the first wins, with a warning).
 */
public final class RpcCodecs {

    private static final Logger logger = LoggerFactory.getLogger(RpcCodecs.class);

    /** The codecs of this JVM: built-ins and those on the class path. */
    public static final RpcCodecs DEFAULT = load();

    private final Map<String, RpcCodec> byName;
    private final List<String> names;

    RpcCodecs(List<RpcCodec> codecs) {
        final Map<String, RpcCodec> m = new LinkedHashMap<>();
        for (RpcCodec c : codecs) {
            final RpcCodec previous = m.putIfAbsent(c.name(), c);
            if (previous != null && previous != c) {
                logger.warn("RPC codec {} ({}) ignored: {} already has the name", c.name(), c.getClass().getName(),
                            previous.getClass().getName());
            }
        }
        byName = Map.copyOf(m);
        names = List.copyOf(m.keySet());
    }

    private static RpcCodecs load() {
        final List<RpcCodec> all = new ArrayList<>();
        for (RpcProtocol p : RpcProtocol.values()) {
            all.add(p.codec());
        }
        for (RpcCodec c : ServiceLoader.load(RpcCodec.class, RpcCodecs.class.getClassLoader())) {
            all.add(c);
        }
        return new RpcCodecs(all);
    }

    /** The codec named {@code name}, or null. */
    public RpcCodec get(String name) {
        return byName.get(name);
    }

    /** The names, built-ins first, for error messages: {@code bolt or dubbo}, {@code bolt, dubbo or thrift}. */
    public String describeNames() {
        if (names.size() == 1) {
            return names.get(0);
        }
        return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
    }
}

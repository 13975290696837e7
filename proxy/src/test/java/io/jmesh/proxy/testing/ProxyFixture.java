package io.jmesh.proxy.testing;

import java.net.InetSocketAddress;
import java.util.Map;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.server.ProxyServer;

/**
 * Starts a real {@link ProxyServer} from an Envoy bootstrap written in YAML, with {@code ${NAME}}
 * placeholders replaced (backend ports, file paths). Listeners and admin should use port 0.
 */
public final class ProxyFixture implements AutoCloseable {

    private final ProxyServer server;

    private ProxyFixture(ProxyServer server) {
        this.server = server;
    }

    public static ProxyFixture start(String yaml, Map<String, Object> vars) throws ConfigException, InterruptedException {
        return start(yaml, vars, 2);
    }

    /** As {@link #start(String, Map)} with {@code workers} event loops (1 puts every connection on one loop). */
    public static ProxyFixture start(String yaml, Map<String, Object> vars, int workers)
            throws ConfigException, InterruptedException {
        return start(yaml, vars, workers, io.jmesh.proxy.extension.ExtensionRegistry.loadDefault());
    }

    /** As {@link #start(String, Map, int)} with the extensions the proxy is built with. */
    public static ProxyFixture start(String yaml, Map<String, Object> vars, int workers,
                                     io.jmesh.proxy.extension.ExtensionRegistry extensions)
            throws ConfigException, InterruptedException {
        String text = yaml;
        for (Map.Entry<String, Object> e : vars.entrySet()) {
            text = text.replace("${" + e.getKey() + "}", String.valueOf(e.getValue()));
        }
        return new ProxyFixture(ProxyServer.start(BootstrapLoader.parse(text), workers,
                io.jmesh.proxy.xds.ListenerBinding.AS_CONFIGURED, extensions));
    }

    public ProxyServer server() {
        return server;
    }

    /** The port of the first listener. */
    public int port() {
        return server.listenerAddresses().values().iterator().next().getPort();
    }

    public int port(String listener) {
        InetSocketAddress a = server.listenerAddresses().get(listener);
        if (a == null) {
            throw new IllegalArgumentException("no listener " + listener);
        }
        return a.getPort();
    }

    public String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    public int adminPort() {
        return server.adminAddress().getPort();
    }

    public long counter(String name) {
        return server.stats().counterValues().getOrDefault(name, 0L);
    }

    public long gauge(String name) {
        return server.stats().gaugeValues().getOrDefault(name, 0L);
    }

    @Override
    public void close() {
        server.close();
    }
}

package io.jmesh.discovery.registry;

import io.jmesh.discovery.registry.consul.ConsulServiceRegistry;
import io.jmesh.discovery.registry.nacos.NacosServiceRegistry;
import io.jmesh.discovery.registry.zookeeper.ZookeeperServiceRegistry;
import io.jmesh.proxy.config.ConfigException;
import java.net.URI;
import java.util.Locale;

/**
 * Creates the registries named on the command line ({@code jmesh discovery --registry URI}).
 */
public final class Registries {

    private static final String EXPECTED = "zookeeper://HOST:PORT[,HOST:PORT...], nacos://HOST:PORT[?namespace=ID] "
            + "or consul://HOST:PORT";

    private Registries() {}

    /**
     * Returns a started registry for {@code uri}:
     * <ul>
     *   <li>{@code zookeeper://HOST:PORT[,HOST:PORT...]}: Dubbo's and SOFARPC's provider nodes
     *       ({@link ZookeeperServiceRegistry}); the port defaults to 2181;</li>
     *   <li>{@code nacos://HOST:PORT[?namespace=ID]}: Dubbo's providers in Nacos, read over its HTTP
     *       API ({@link NacosServiceRegistry}); the port defaults to 8848;</li>
     *   <li>{@code consul://HOST:PORT}: Consul's catalog and healthy instances, followed with blocking
     *       queries ({@link ConsulServiceRegistry}); the port defaults to 8500.</li>
     * </ul>
     * The registry connects in the background: an unreachable server is not an error here. The
     * caller closes it.
     *
     * @throws ConfigException {@code registry: URI (expected: ...)} for any other form
     */
    public static ServiceRegistry fromUri(String uri) throws ConfigException {
        if (uri == null) {
            throw new ConfigException("registry: null (expected: " + EXPECTED + ")");
        }
        int schemeEnd = uri.indexOf("://");
        String scheme = schemeEnd < 0 ? "" : uri.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        String rest = schemeEnd < 0 ? "" : uri.substring(schemeEnd + 3);
        int q = rest.indexOf('?');
        String authority = q < 0 ? rest : rest.substring(0, q);
        String query = q < 0 ? "" : rest.substring(q + 1);
        if (authority.endsWith("/")) {
            authority = authority.substring(0, authority.length() - 1);
        }
        switch (scheme) {
            case "zookeeper" -> {
                if (!query.isEmpty()) {
                    throw bad(uri);
                }
                StringBuilder connect = new StringBuilder();
                for (String hostPort : authority.split(",", -1)) {
                    if (connect.length() > 0) {
                        connect.append(',');
                    }
                    connect.append(hostPort(uri, hostPort, 2181));
                }
                return new ZookeeperServiceRegistry(connect.toString());
            }
            case "nacos" -> {
                String namespace = "";
                if (!query.isEmpty()) {
                    if (!query.startsWith("namespace=") || query.contains("&")) {
                        throw bad(uri);
                    }
                    namespace = query.substring("namespace=".length());
                }
                return new NacosServiceRegistry(URI.create("http://" + hostPort(uri, authority, 8848)), namespace,
                        NacosServiceRegistry.DEFAULT_POLL_INTERVAL);
            }
            case "consul" -> {
                if (!query.isEmpty()) {
                    throw bad(uri);
                }
                return new ConsulServiceRegistry(URI.create("http://" + hostPort(uri, authority, 8500)),
                        ConsulServiceRegistry.DEFAULT_WAIT);
            }
            default -> throw bad(uri);
        }
    }

    private static String hostPort(String uri, String hostPort, int defaultPort) throws ConfigException {
        if (hostPort.isEmpty() || hostPort.contains("/") || hostPort.contains("@")) {
            throw bad(uri);
        }
        int colon = hostPort.lastIndexOf(':');
        boolean bracketed = hostPort.startsWith("[");
        if (colon < 0 || (bracketed && colon < hostPort.indexOf(']'))) {
            return hostPort + ':' + defaultPort;
        }
        String host = hostPort.substring(0, colon);
        try {
            int port = Integer.parseInt(hostPort.substring(colon + 1));
            if (host.isEmpty() || port < 1 || port > 65535) {
                throw bad(uri);
            }
        } catch (NumberFormatException e) {
            throw bad(uri);
        }
        return hostPort;
    }

    private static ConfigException bad(String uri) {
        return new ConfigException("registry: " + uri + " (expected: " + EXPECTED + ")");
    }
}

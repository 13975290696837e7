package io.jmesh.discovery.registry.rpc;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A provider URL as Dubbo and SOFARPC write it into their registries, already URL-decoded:
 * <pre>
 * dubbo://10.0.0.5:20880/org.example.DemoService?application=demo&amp;version=1.0.0&amp;group=g&amp;side=provider&amp;...
 * bolt://10.0.0.6:12200?version=1.0&amp;uniqueId=u&amp;appName=demo&amp;interface=org.example.DemoService&amp;...
 * </pre>
 * Only {@code protocol://host:port[/path][?query]} is read; parameter names and values are
 * percent-decoded once more (Dubbo encodes values such as {@code methods} inside the already
 * encoded node name). A parameter given twice keeps its first value. Immutable.
 *
 * @param protocol   the scheme, lower case ({@code dubbo}, {@code tri}, {@code bolt}, ...)
 * @param host       the provider's address (IPv6 without brackets)
 * @param port       the provider's port, 1 to 65535
 * @param path       the path without its leading {@code /} (Dubbo: the interface), may be empty
 * @param parameters the query parameters, in their order
 */
public record ProviderUrl(String protocol, String host, int port, String path, Map<String, String> parameters) {

    /** The longest URL read, in characters; a registry node name is far shorter in practice. */
    public static final int MAX_LENGTH = 16 * 1024;

    public ProviderUrl {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(host, "host");
        path = path == null ? "" : path;
        parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
    }

    /**
     * Parses {@code url} (already decoded from the registry's node name).
     *
     * @throws IllegalArgumentException with a {@code url: ... (expected: ...)} message if it is not
     *                                  {@code protocol://host:port...}
     */
    public static ProviderUrl parse(String url) {
        if (url == null || url.isEmpty() || url.length() > MAX_LENGTH) {
            throw bad(url == null ? "null" : url.length() > MAX_LENGTH ? url.length() + " characters" : "\"\"",
                    "protocol://host:port[/path][?query] of at most " + MAX_LENGTH + " characters");
        }
        int schemeEnd = url.indexOf("://");
        if (schemeEnd <= 0) {
            throw bad(url, "protocol://host:port[/path][?query]");
        }
        String protocol = url.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        String rest = url.substring(schemeEnd + 3);
        int q = rest.indexOf('?');
        String query = q < 0 ? "" : rest.substring(q + 1);
        String hostPortPath = q < 0 ? rest : rest.substring(0, q);
        int slash = hostPortPath.indexOf('/', hostPortPath.startsWith("[") ? hostPortPath.indexOf(']') : 0);
        String hostPort = slash < 0 ? hostPortPath : hostPortPath.substring(0, slash);
        String path = slash < 0 ? "" : hostPortPath.substring(slash + 1);
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || (hostPort.startsWith("[") && colon < hostPort.indexOf(']'))) {
            throw bad(url, "a host and a port after " + protocol + "://");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw bad(url, "a port number after " + host + ":");
        }
        if (host.isEmpty() || port < 1 || port > 65535) {
            throw bad(url, "a host and a port from 1 to 65535");
        }
        Map<String, String> params = new LinkedHashMap<>();
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String k = decode(eq < 0 ? pair : pair.substring(0, eq));
                String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
                if (!k.isEmpty()) {
                    params.putIfAbsent(k, v);
                }
            }
        }
        return new ProviderUrl(protocol, host, port, path, params);
    }

    /** Returns the parameter {@code name}, or {@code ""} if absent. */
    public String parameter(String name) {
        return parameters.getOrDefault(name, "");
    }

    /**
     * Returns whether the provider takes calls: Dubbo's {@code enabled=false} and
     * {@code disabled=true} switch a provider off.
     */
    public boolean enabled() {
        return !"false".equalsIgnoreCase(parameter("enabled")) && !"true".equalsIgnoreCase(parameter("disabled"));
    }

    private static String decode(String s) {
        if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
            return s;
        }
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s; // a stray '%': keep the text as written
        }
    }

    private static IllegalArgumentException bad(String value, String expected) {
        return new IllegalArgumentException("url: " + value + " (expected: " + expected + ")");
    }
}

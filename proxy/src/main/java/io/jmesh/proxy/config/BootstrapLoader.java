package io.jmesh.proxy.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;

/**
 * Reads an Envoy v3 {@link Bootstrap} from a YAML or JSON file. Errors name the file and the field path:
 * {@code envoy.yaml: static_resources.listeners[0].address.socket_address.port_valu: unknown field
 * (expected: a field of envoy.config.core.v3.SocketAddress)}.
 */
public final class BootstrapLoader {

    private BootstrapLoader() {}

    public static Bootstrap load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
        try {
            return parse(text);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e.getCause());
        }
    }

    public static Bootstrap parse(String text) throws ConfigException {
        return EnvoyTypes.PARSER.parse(text, Bootstrap.newBuilder()).build();
    }
}

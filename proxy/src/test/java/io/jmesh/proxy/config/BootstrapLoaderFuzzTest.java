package io.jmesh.proxy.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;

/**
 * Fuzzes {@link BootstrapLoader#load}: any bytes in a bootstrap file (YAML or JSON, any encoding) give a
 * {@link Bootstrap} or a {@link ConfigException} whose message starts with the file name, nothing else (no
 * Jackson or protobuf exception, no stack overflow on deep nesting, no hang).
 * Seeds: {@code BootstrapLoaderFuzzTestInputs/load/}.
 */
class BootstrapLoaderFuzzTest {

    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("jmesh-bootstrap-fuzz", ".yaml");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void load(byte[] input) throws IOException {
        Files.write(FILE, input);
        try {
            Bootstrap b = BootstrapLoader.load(FILE);
            assertNotNull(b);
        } catch (ConfigException e) {
            assertNotNull(e.getMessage());
            assertTrue(e.getMessage().startsWith(FILE + ": "), e.getMessage());
            assertFalse(e.getMessage().length() <= (FILE + ": ").length(), "an error without a reason");
        }
    }
}

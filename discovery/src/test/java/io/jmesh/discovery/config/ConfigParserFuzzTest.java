package io.jmesh.discovery.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzes the Istio YAML reader ({@link ConfigParser#parse(Path)}, with {@link ConfigValidator}): any bytes in a
 * config file give validated objects and {@link ConfigError}s (file, line, reason), never an exception, and
 * every object that comes out passes validation again. Seeds: {@code ConfigParserFuzzTestInputs/parse/} (the
 * demo and golden Istio YAML).
 */
class ConfigParserFuzzTest {

    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("jmesh-istio-fuzz", ".yaml");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void parse(byte[] input) throws Exception {
        Files.write(FILE, input);
        ConfigParser.Result r = ConfigParser.parse(FILE);
        assertNotNull(r);
        for (ConfigError e : r.errors()) {
            assertEquals(FILE, e.source().file());
            assertTrue(e.source().line() >= 1, e.toString());
            assertNotNull(e.reason());
            assertFalse(e.reason().isBlank(), "an error without a reason");
        }
        for (Config<?> c : r.configs()) {
            assertEquals(FILE, c.meta().source().file());
            ConfigValidator.validate(c);
        }
    }
}

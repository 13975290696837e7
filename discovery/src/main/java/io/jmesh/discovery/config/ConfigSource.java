package io.jmesh.discovery.config;

import java.nio.file.Path;

/**
 * Where an object was read from: a file and a 1-based line: where its YAML document starts (an object read),
 * or the line of the field an error names (an object rejected, see {@link ConfigError}).
 * {@code file} is {@code null} for objects that come from somewhere other than a file.
 */
public record ConfigSource(Path file, int line) {

    @Override
    public String toString() {
        return (file == null ? "<unknown>" : file.toString()) + ':' + line;
    }
}

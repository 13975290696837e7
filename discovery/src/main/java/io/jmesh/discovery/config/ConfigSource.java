package io.jmesh.discovery.config;

import java.nio.file.Path;

/**
 * Where an object was read from: a file and the 1-based line where its YAML document starts.
 * {@code file} is {@code null} for objects that come from somewhere other than a file.
 */
public record ConfigSource(Path file, int line) {

    @Override
    public String toString() {
        return (file == null ? "<unknown>" : file.toString()) + ':' + line;
    }
}

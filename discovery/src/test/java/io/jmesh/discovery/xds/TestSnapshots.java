package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.config.Credential;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.ResolvedJwks;
import io.jmesh.discovery.registry.file.FileServiceRegistry;

/**
 * The {@link MeshSnapshot} discovery serves for parsed Istio YAML, with the services and endpoints of the file
 * registry (as {@code jmesh discovery} on a config directory builds it). Asserts the YAML parsed without errors.
 */
final class TestSnapshots {

    private TestSnapshots() {}

    /** The snapshot of {@code parsed} under {@code mesh}, at {@code version}. */
    static MeshSnapshot of(long version, ConfigParser.Result parsed, MeshConfig mesh) {
        return of(version, parsed, mesh, List.of(), ResolvedJwks.NONE);
    }

    /** As {@link #of(long, ConfigParser.Result, MeshConfig)}, with the credentials of a credentials directory. */
    static MeshSnapshot of(long version, ConfigParser.Result parsed, MeshConfig mesh, List<Credential> credentials) {
        return of(version, parsed, mesh, credentials, ResolvedJwks.NONE);
    }

    /** As {@link #of(long, ConfigParser.Result, MeshConfig)}, with credentials and the JWKS discovery resolved. */
    static MeshSnapshot of(long version, ConfigParser.Result parsed, MeshConfig mesh, List<Credential> credentials,
            ResolvedJwks jwks) {
        assertEquals(List.of(), parsed.errors());
        ConfigSnapshot config = new ConfigSnapshot(parsed.configs(), parsed.errors(), mesh);
        FileServiceRegistry registry = new FileServiceRegistry();
        registry.update(config);
        return new MeshSnapshot(version, config, registry.services(), registry.endpoints(), credentials, jwks);
    }
}

package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.ResolvedJwks;
import io.jmesh.discovery.registry.file.FileServiceRegistry;

/**
 * Where a JWT provider's keys come from, as istiod's {@code convertToEnvoyJwtConfig} decides: an issuer without
 * {@code jwks}/{@code jwksUri} gets the keys discovery found by OpenID discovery inline (istiod's fake key while it has
 * none); a {@code jwksUri} follows {@code PILOT_JWT_ENABLE_REMOTE_JWKS}: {@code envoy} (jmesh's default) fetched by
 * the proxy, {@code hybrid} by the proxy for a mesh service and by discovery otherwise, {@code istiod} by discovery.
 */
class RequestAuthnJwksTest {

    private static final String MESH_KEYS = "http://keys.foo.svc.cluster.local:8080/jwks";
    private static final String EXTERNAL_KEYS = "https://accounts.example.com/jwks";
    private static final String FETCHED = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"c2VjcmV0\"}]}";

    private static final String CONFIG = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: httpbin, namespace: foo}
            spec:
              hosts: [httpbin.foo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 8000, name: http, protocol: HTTP}]
              endpoints: [{address: 10.0.0.5, labels: {app: httpbin}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: keys, namespace: foo}
            spec:
              hosts: [keys.foo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 8080, name: http, protocol: HTTP}]
              endpoints: [{address: 10.0.0.9}]
            ---
            apiVersion: security.istio.io/v1
            kind: RequestAuthentication
            metadata: {name: jwt, namespace: foo}
            spec:
              selector: {matchLabels: {app: httpbin}}
              jwtRules:
              - issuer: https://openid.example.com
              - issuer: https://mesh.example.com
                jwksUri: http://keys.foo.svc.cluster.local:8080/jwks
              - issuer: https://accounts.example.com
                jwksUri: https://accounts.example.com/jwks
            """;

    private record Generated(Map<String, JwtProvider> providers, Map<String, Message> clusters) {}

    private static Generated generate(ResolvedJwks jwks) throws Exception {
        MeshSnapshot snapshot = TestSnapshots.of(1, ConfigParser.parse(null, CONFIG), MeshConfig.DEFAULT, List.of(), jwks);
        Node node = Node.newBuilder().setId("sidecar~10.0.0.5~httpbin-1.foo~foo.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(
                        Struct.newBuilder().putFields("app", Value.newBuilder().setStringValue("httpbin").build()))
                        .build()))
                .build();
        ProxyNode proxy = ProxyNode.of(node);
        Listener inbound = (Listener) XdsGenerator.generate(TypeUrls.LISTENER, proxy, snapshot).get("virtualInbound");
        for (FilterChain fc : inbound.getFilterChainsList()) {
            if (fc.getFilterChainMatch().getDestinationPort().getValue() != 8000) {
                continue;
            }
            HttpConnectionManager hcm = fc.getFilters(fc.getFiltersCount() - 1).getTypedConfig()
                    .unpack(HttpConnectionManager.class);
            for (HttpFilter f : hcm.getHttpFiltersList()) {
                if (f.getName().equals(RequestAuthnFilters.JWT_FILTER)) {
                    return new Generated(f.getTypedConfig().unpack(JwtAuthentication.class).getProvidersMap(),
                            XdsGenerator.generate(TypeUrls.CLUSTER, proxy, snapshot));
                }
            }
        }
        throw new AssertionError("no jwt_authn filter on the inbound HTTP chain");
    }

    @Test
    void anIssuerWithoutKeysGetsWhatOpenIdDiscoveryFoundOrTheFakeKey() throws Exception {
        ResolvedJwks.Key key = new ResolvedJwks.Key("https://openid.example.com", "");
        Generated fetched = generate(new ResolvedJwks(ResolvedJwks.FetchMode.ENVOY, Map.of(key, FETCHED)));
        assertEquals(FETCHED, fetched.providers().get("origins-0").getLocalJwks().getInlineString());
        Generated missing = generate(ResolvedJwks.NONE);
        assertEquals(RequestAuthnFilters.FAKE_JWKS,
                missing.providers().get("origins-0").getLocalJwks().getInlineString());
    }

    @Test
    void envoyModeLetsTheProxyFetchEveryJwksUri() throws Exception {
        Generated g = generate(ResolvedJwks.NONE);
        assertEquals("outbound|8080||keys.foo.svc.cluster.local",
                g.providers().get("origins-1").getRemoteJwks().getHttpUri().getCluster());
        assertEquals("outbound|443||accounts.example.com",
                g.providers().get("origins-2").getRemoteJwks().getHttpUri().getCluster());
        assertTrue(g.clusters().containsKey("outbound|443||accounts.example.com"), "the cluster added for the host");
    }

    @Test
    void hybridModeFetchesExternalKeysInDiscovery() throws Exception {
        ResolvedJwks.Key external = new ResolvedJwks.Key("https://accounts.example.com", EXTERNAL_KEYS);
        Generated g = generate(new ResolvedJwks(ResolvedJwks.FetchMode.HYBRID, Map.of(external, FETCHED)));
        assertEquals(MESH_KEYS, g.providers().get("origins-1").getRemoteJwks().getHttpUri().getUri());
        assertEquals(FETCHED, g.providers().get("origins-2").getLocalJwks().getInlineString());
        assertFalse(g.clusters().containsKey("outbound|443||accounts.example.com"), "no cluster: discovery fetches");
    }

    @Test
    void istiodModeInlinesEveryJwksUriAndTheFakeKeyForWhatItCouldNotFetch() throws Exception {
        ResolvedJwks.Key mesh = new ResolvedJwks.Key("https://mesh.example.com", MESH_KEYS);
        Generated g = generate(new ResolvedJwks(ResolvedJwks.FetchMode.ISTIOD, Map.of(mesh, FETCHED)));
        assertEquals(FETCHED, g.providers().get("origins-1").getLocalJwks().getInlineString());
        assertEquals(RequestAuthnFilters.FAKE_JWKS, g.providers().get("origins-2").getLocalJwks().getInlineString());
    }

    @Test
    void theKeysDiscoveryMustFetchFollowTheMode() throws Exception {
        ConfigParser.Result parsed = ConfigParser.parse(null, CONFIG);
        ConfigSnapshot config = new ConfigSnapshot(parsed.configs(), parsed.errors(), MeshConfig.DEFAULT);
        FileServiceRegistry registry = new FileServiceRegistry();
        registry.update(config);
        ResolvedJwks.Key openId = new ResolvedJwks.Key("https://openid.example.com", "");
        ResolvedJwks.Key mesh = new ResolvedJwks.Key("https://mesh.example.com", MESH_KEYS);
        ResolvedJwks.Key external = new ResolvedJwks.Key("https://accounts.example.com", EXTERNAL_KEYS);
        assertEquals(List.of(openId), List.copyOf(ResolvedJwks.wanted(config, registry.services(),
                ResolvedJwks.FetchMode.ENVOY).keySet()));
        assertEquals(List.of(openId, external), List.copyOf(ResolvedJwks.wanted(config, registry.services(),
                ResolvedJwks.FetchMode.HYBRID).keySet()));
        assertEquals(List.of(openId, mesh, external), List.copyOf(ResolvedJwks.wanted(config, registry.services(),
                ResolvedJwks.FetchMode.ISTIOD).keySet()));
        assertEquals("RequestAuthentication/foo/jwt: spec.jwtRules[2]", ResolvedJwks.wanted(config,
                registry.services(), ResolvedJwks.FetchMode.ISTIOD).get(external));
    }

    @Test
    void theModeIsIstiosEnvironmentVariable() {
        assertEquals(List.of(ResolvedJwks.FetchMode.ISTIOD, ResolvedJwks.FetchMode.ISTIOD,
                        ResolvedJwks.FetchMode.HYBRID, ResolvedJwks.FetchMode.HYBRID, ResolvedJwks.FetchMode.ENVOY,
                        ResolvedJwks.FetchMode.ENVOY),
                java.util.stream.Stream.of("istiod", "false", "hybrid", "true", "envoy", null)
                        .map(ResolvedJwks.FetchMode::parse).toList());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ResolvedJwks.FetchMode.parse("sometimes"));
        assertEquals("PILOT_JWT_ENABLE_REMOTE_JWKS: sometimes (expected: one of istiod, false, hybrid, true, envoy)",
                e.getMessage());
    }
}

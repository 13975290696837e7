package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.PathConfigSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.TestCertificates;
import io.netty.handler.ssl.SslContext;

/** {@link DefaultSecretManager} and {@link ServerTlsProvider}: sources, errors by field path, bad updates. */
class DefaultSecretManagerTest {

    private static final ConfigSource ADS = ConfigSource.newBuilder()
            .setAds(AggregatedConfigSource.getDefaultInstance()).build();

    @TempDir
    Path dir;

    private static SdsSecretConfig sds(String name, ConfigSource source) {
        SdsSecretConfig.Builder b = SdsSecretConfig.newBuilder().setName(name);
        if (source != null) {
            b.setSdsConfig(source);
        }
        return b.build();
    }

    private static Secret cert(String name, TestCertificates.Issued issued, TestCertificates.Issued keyOf)
            throws Exception {
        return Secret.newBuilder().setName(name).setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(Files.readString(issued.certificateChain())))
                .setPrivateKey(DataSource.newBuilder().setInlineString(Files.readString(keyOf.privateKey())))).build();
    }

    @Test
    void missingStaticSecretAndUnreachableSourcesAreConfigErrorsNamingTheField() throws Exception {
        DefaultSecretManager m = DefaultSecretManager.create(List.of(), null);
        ConfigException e = assertThrows(ConfigException.class, () -> m.subscribe(sds("default", null), "p"));
        assertEquals("p.name: default (expected: a secret of static_resources.secrets when sds_config is unset)",
                     e.getMessage());
        e = assertThrows(ConfigException.class, () -> m.subscribe(sds("default", ADS), "p"));
        assertTrue(e.getMessage().startsWith("p.sds_config: ads (expected: path_config_source or a static secret"),
                   e.getMessage());
        ConfigSource missing = ConfigSource.newBuilder().setPathConfigSource(PathConfigSource.newBuilder()
                .setPath(dir.resolve("nope.yaml").toString())).build();
        e = assertThrows(ConfigException.class, () -> m.subscribe(sds("default", missing), "p"));
        assertTrue(e.getMessage().startsWith("p.sds_config.path_config_source.path: " + dir.resolve("nope.yaml")),
                   e.getMessage());
        e = assertThrows(ConfigException.class, () -> DefaultSecretManager.create(
                List.of(Secret.newBuilder().setName("a").build(), Secret.newBuilder().setName("a").build()), null));
        assertEquals("static_resources.secrets[1].name: a (expected: a unique secret name)", e.getMessage());
    }

    @Test
    void staticSecretIsFoundByNameAndSubscriptionsAreShared() throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates.Issued leaf = ca.issue("leaf", null);
        DefaultSecretManager m = DefaultSecretManager.create(List.of(cert("server", leaf, leaf)), null);
        SecretManager.Subscription a = m.subscribe(sds("server", null), "p");
        assertSame(a, m.subscribe(sds("server", null), "q"));
        assertTrue(a.ready().isDone());
        assertEquals("server", a.current().getName());
    }

    @Test
    void aProviderWaitsForItsSecretAndKeepsItsContextWhenAnUpdateIsUnusable() throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates.Issued v1 = ca.issue("v1", null);
        TestCertificates.Issued v2 = ca.issue("v2", null);
        List<String> asked = new ArrayList<>();
        DefaultSecretManager m = DefaultSecretManager.create(List.of(), (source, name, path) -> asked.add(name));
        ServerTlsProvider p = ServerTlsProvider.create(DownstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().addTlsCertificateSdsSecretConfigs(sds("default", ADS))).build(), m);
        assertEquals(List.of("default"), asked);
        assertNull(p.current(), "no context before the secret");
        assertNull(p.newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT, null));
        assertTrue(!p.ready().isDone());
        assertEquals("default", m.configDump().getDynamicWarmingSecrets(0).getName());

        m.deliver(DefaultSecretManager.sourceKey(ADS), List.of(cert("default", v1, v1)));
        var dumped = m.configDump();
        assertEquals(0, dumped.getDynamicWarmingSecretsCount());
        assertEquals("[redacted]", dumped.getDynamicActiveSecrets(0).getSecret().unpack(Secret.class)
                                          .getTlsCertificate().getPrivateKey().getInlineString());
        SslContext first = p.current();
        assertNotNull(first);
        assertTrue(p.ready().isDone());

        // v2's certificate with v1's key: does not build; the previous context keeps serving.
        m.deliver(DefaultSecretManager.sourceKey(ADS), List.of(cert("default", v2, v1)));
        assertSame(first, p.current());

        m.deliver(DefaultSecretManager.sourceKey(ADS), List.of(cert("default", v2, v2)));
        assertNotSame(first, p.current());
    }

    @Test
    void aServerContextWithoutCertificateIsRefused() throws Exception {
        ConfigException e = assertThrows(ConfigException.class, () -> ServerTlsProvider.create(
                DownstreamTlsContext.getDefaultInstance(), SecretManager.none()));
        assertEquals("common_tls_context.tls_certificates: [] (expected: one certificate and key, or one "
                     + "tls_certificate_sds_secret_configs)", e.getMessage());
    }
}

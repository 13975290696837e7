package io.jmesh.discovery.xds;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.discovery.config.Credential;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds the SDS secrets discovery serves over ADS, as istiod serves {@code credentialName}s: for each
 * credential of the proxy's own namespace, {@code kubernetes://<name>} (certificate and key) and
 * {@code kubernetes://<name>-cacert} (its {@code ca.crt}, to verify peers). A credential holding only CA
 * certificates gives {@code kubernetes://<name>} as a validation context. Only the proxy's namespace: a
 * gateway or sidecar never gets another namespace's keys. Gateways and sidecars alike (DestinationRule
 * credentials); proxyless gRPC clients get none.
 */
final class SecretGenerator {

    private SecretGenerator() {}

    static Map<String, Message> generate(GenerationContext ctx) {
        Map<String, Message> out = new TreeMap<>();
        if (ctx.proxy.type() == ProxyNode.Type.PROXYLESS_GRPC) {
            return out;
        }
        for (Credential c : ctx.snapshot.credentials()) {
            if (!c.namespace().equals(ctx.proxy.namespace())) {
                continue;
            }
            String name = CredentialSecrets.PREFIX + c.name();
            if (c.hasKeyPair()) {
                out.put(name, Secret.newBuilder().setName(name).setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(inline(c.certificate()))
                        .setPrivateKey(inline(c.privateKey()))).build());
                if (c.caCertificates() != null) {
                    String ca = name + CredentialSecrets.CA_SUFFIX;
                    out.putIfAbsent(ca, validation(ca, c.caCertificates()));
                }
            } else if (c.caCertificates() != null) {
                out.put(name, validation(name, c.caCertificates()));
            }
        }
        return out;
    }

    private static Secret validation(String name, String pem) {
        return Secret.newBuilder().setName(name).setValidationContext(CertificateValidationContext.newBuilder()
                .setTrustedCa(inline(pem))).build();
    }

    private static DataSource inline(String pem) {
        return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(pem, StandardCharsets.UTF_8)).build();
    }
}

package io.jmesh.discovery.config;

/**
 * One TLS credential as a Kubernetes TLS Secret holds it ({@code tls.crt}, {@code tls.key}, {@code ca.crt}),
 * named by a Gateway server's or a DestinationRule's {@code credentialName}. Fields are PEM text; any may be
 * null when its file is absent. Immutable.
 *
 * @param namespace   the namespace that owns it (only proxies of that namespace get it)
 * @param name        its name, as {@code credentialName} writes it
 * @param certificate {@code tls.crt}: the certificate chain
 * @param privateKey  {@code tls.key}: the private key
 * @param caCertificates {@code ca.crt}: CA certificates to verify peers with
 */
public record Credential(String namespace, String name, String certificate, String privateKey,
                         String caCertificates) {

    /** Returns whether it holds a certificate and its key. */
    public boolean hasKeyPair() {
        return certificate != null && privateKey != null;
    }
}

package io.jmesh.discovery.xds;

/** Names of the secrets discovery serves from its credentials directory (see {@code CredentialStore}). */
final class CredentialSecrets {

    /** Istio's prefix of a {@code credentialName} secret in SDS. */
    static final String PREFIX = "kubernetes://";
    /** Istio's suffix of the secret holding a credential's CA certificates. */
    static final String CA_SUFFIX = "-cacert";

    private CredentialSecrets() {}
}

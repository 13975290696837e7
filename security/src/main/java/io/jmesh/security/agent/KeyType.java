package io.jmesh.security.agent;

/** The algorithm of the workload's private key, as Istio's agent offers it ({@code ECC_SIGNATURE_ALGORITHM}). */
public enum KeyType {
    /** EC on curve P-256 (secp256r1), signed with ECDSA SHA-256: the default. */
    EC_P256,
    /** RSA with a 2048-bit modulus, signed with SHA256withRSA. */
    RSA_2048
}

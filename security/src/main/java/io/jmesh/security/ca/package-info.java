/**
 * The certificate authority (Citadel's role in Istio): the signing material ({@link io.jmesh.security.ca.CaRoots},
 * self-signed and kept in a directory, or plugged in from an Istio {@code cacerts} directory), and
 * {@link io.jmesh.security.ca.CertificateAuthority}, which turns a workload's CSR into a SPIFFE certificate.
 */
package io.jmesh.security.ca;

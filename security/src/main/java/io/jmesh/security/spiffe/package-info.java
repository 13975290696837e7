/**
 * SPIFFE identities as Istio uses them: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>},
 * the only URI SAN of a workload certificate.
 */
package io.jmesh.security.spiffe;

/**
 * The node agent (Istio's {@code pilot-agent} security half, {@code security/pkg/nodeagent}): it makes the
 * workload's private key in this process, sends only a CSR with the workload's SPIFFE ID to the CA
 * ({@code istio.v1.auth.IstioCertificateService}), serves the issued certificate as SDS secret {@code default}
 * and the mesh root as {@code ROOTCA} on a Unix domain socket, and rotates the certificate at Istio's grace point
 * ({@code SECRET_GRACE_PERIOD_RATIO} 0.5 of its lifetime, with jitter), retrying a CA that is down with
 * exponential back-off while the current certificate keeps being served.
 *
 * <p>Entry point: {@link io.jmesh.security.agent.NodeAgent}.
 */
package io.jmesh.security.agent;

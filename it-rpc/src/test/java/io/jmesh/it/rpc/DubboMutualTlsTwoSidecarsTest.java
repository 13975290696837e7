package io.jmesh.it.rpc;

import org.junit.jupiter.api.Test;

/**
 * {@link AbstractDubboTwoSidecarsTest} with STRICT mutual TLS between the sidecars, as Istio runs them: the consumer's sidecar calls
 * the providers' sidecars over mTLS with SPIFFE certificates from jmesh discovery's CA (each sidecar's node agent,
 * SDS over its socket), and every contract test of the plain mesh holds. A caller that is not a sidecar of the
 * mesh (plaintext to a provider sidecar's inbound port) is refused.
 */
class DubboMutualTlsTwoSidecarsTest extends AbstractDubboTwoSidecarsTest {

    DubboMutualTlsTwoSidecarsTest() {
        super(61, true);
    }

    @Test
    void aPlaintextCallerIsRefusedByTheProvidersSidecar() throws Exception {
        RpcMesh.assertClosesConnection(blueInbound(), malformedFrames()[2]);
    }
}

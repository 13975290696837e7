package io.jmesh.it.rpc;

/** {@link AbstractSofaTwoSidecarsTest} with plaintext between the sidecars. */
class SofaTwoSidecarsTest extends AbstractSofaTwoSidecarsTest {

    SofaTwoSidecarsTest() {
        super(24, false);
    }
}

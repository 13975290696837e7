package io.jmesh.it.rpc;

/** {@link AbstractDubboTwoSidecarsTest} with plaintext between the sidecars. */
class DubboTwoSidecarsTest extends AbstractDubboTwoSidecarsTest {

    DubboTwoSidecarsTest() {
        super(21, false);
    }
}

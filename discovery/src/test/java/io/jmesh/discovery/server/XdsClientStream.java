package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A raw ADS client stream for tests, with its responses (or its error) queued in arrival order. */
final class XdsClientStream<Q, R> implements StreamObserver<R> {

    final BlockingQueue<Object> responses = new LinkedBlockingQueue<>();
    StreamObserver<Q> requests;

    static XdsClientStream<DiscoveryRequest, DiscoveryResponse> sotw(Channel channel) {
        XdsClientStream<DiscoveryRequest, DiscoveryResponse> s = new XdsClientStream<>();
        s.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(s);
        return s;
    }

    static XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> delta(Channel channel) {
        XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> s = new XdsClientStream<>();
        s.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).deltaAggregatedResources(s);
        return s;
    }

    void send(Q q) {
        requests.onNext(q);
    }

    /** Returns the next response, failing after 30 s or if the stream failed. */
    @SuppressWarnings("unchecked")
    R take() throws InterruptedException {
        Object o = responses.poll(30, TimeUnit.SECONDS);
        assertNotNull(o, "no response within 30 s");
        assertFalse(o instanceof Throwable, () -> "stream failed: " + o);
        return (R) o;
    }

    Throwable error() throws InterruptedException {
        Object o = responses.poll(30, TimeUnit.SECONDS);
        assertTrue(o instanceof Throwable, () -> "expected an error, got " + o);
        return (Throwable) o;
    }

    void close() {
        requests.onCompleted();
    }

    @Override
    public void onNext(R r) {
        responses.add(r);
    }

    @Override
    public void onError(Throwable t) {
        responses.add(t);
    }

    @Override
    public void onCompleted() {}
}

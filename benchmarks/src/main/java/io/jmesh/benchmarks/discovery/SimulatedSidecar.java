package io.jmesh.benchmarks.discovery;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One simulated Envoy sidecar on a state-of-the-world ADS stream, as Istio's pilot-load simulates
 * them: it subscribes to CDS and LDS (wildcard), then to EDS for the EDS clusters and to RDS for the
 * route configurations it received, and ACKs every response with its {@code version_info} and
 * {@code response_nonce} and the current resource names, as Envoy does. It keeps no resources, only
 * what it needs to subscribe and to detect the watched change.
 *
 * <p>Thread-safety: gRPC delivers one stream's responses one at a time; every send is under this
 * object's monitor, so {@link #start} and {@link #expectWeight} may run on other threads.
 */
final class SimulatedSidecar implements StreamObserver<DiscoveryResponse> {

    private static final Logger logger = LoggerFactory.getLogger(SimulatedSidecar.class);

    static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
    static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

    private final Node node;
    private final ResponseIndex index;
    private final CountDownLatch ready;
    private final long startNanos;
    private StreamObserver<DiscoveryRequest> requests;

    private List<String> edsNames = List.of();
    private List<String> rdsNames = List.of();
    private String edsNonce = "";
    private String rdsNonce = "";
    private boolean cds;
    private boolean lds;
    private boolean eds;
    private boolean rds;
    private volatile long readyNanos;
    private int responses;

    private int expectedWeight = -1;
    private CountDownLatch changeLatch;
    private volatile long changeAckNanos;

    private volatile Throwable error;
    private volatile boolean stopping;

    SimulatedSidecar(Node node, ResponseIndex index, CountDownLatch ready, long startNanos) {
        this.node = node;
        this.index = index;
        this.ready = ready;
        this.startNanos = startNanos;
    }

    /** Opens the stream on {@code channel} and sends the CDS and LDS subscriptions, the first with the node. */
    synchronized void start(Channel channel) {
        requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(this);
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(LDS).build());
    }

    /**
     * Arms change detection: from now on, the first RDS response whose watched weight is
     * {@code weight} is timed at its ACK and counts down {@code latch}.
     */
    synchronized void expectWeight(int weight, CountDownLatch latch) {
        expectedWeight = weight;
        changeLatch = latch;
        changeAckNanos = 0;
    }

    @Override
    public void onNext(DiscoveryResponse r) {
        synchronized (this) {
            responses++;
            String type = r.getTypeUrl();
            switch (type) {
                case CDS -> {
                    List<String> names = index.edsNames(r);
                    ack(r, List.of());
                    cds = true;
                    if (!names.equals(edsNames) || !eds && edsNonce.isEmpty()) {
                        edsNames = names;
                        subscribe(EDS, names, edsNonce);
                    }
                }
                case LDS -> {
                    List<String> names = index.rdsNames(r);
                    ack(r, List.of());
                    lds = true;
                    if (!names.equals(rdsNames) || !rds && rdsNonce.isEmpty()) {
                        rdsNames = names;
                        subscribe(RDS, names, rdsNonce);
                    }
                }
                case EDS -> {
                    ack(r, edsNames);
                    edsNonce = r.getNonce();
                    eds = true;
                }
                case RDS -> {
                    ack(r, rdsNames);
                    rdsNonce = r.getNonce();
                    rds = true;
                    if (changeLatch != null && changeAckNanos == 0 && index.watchedWeight(r) == expectedWeight) {
                        changeAckNanos = System.nanoTime();
                        changeLatch.countDown();
                    }
                }
                default -> logger.warn("{} unexpected type {}", node.getId(), type);
            }
            if (readyNanos == 0 && cds && lds && eds && rds) {
                readyNanos = System.nanoTime();
                ready.countDown();
            }
        }
    }

    private void ack(DiscoveryResponse r, List<String> names) {
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
                .setResponseNonce(r.getNonce()).addAllResourceNames(names).build());
    }

    private void subscribe(String type, List<String> names, String nonce) {
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(type).setResponseNonce(nonce)
                .addAllResourceNames(names).build());
    }

    @Override
    public void onError(Throwable t) {
        error = t;
        if (stopping) {
            return;
        }
        logger.warn("{} stream failed: {}", node.getId(), t.toString());
    }

    @Override
    public void onCompleted() {
        if (stopping) {
            return;
        }
        logger.warn("{} stream ended by discovery", node.getId());
    }

    /** Closes the stream from the client side. */
    synchronized void stop() {
        stopping = true;
        if (requests != null) {
            try {
                requests.onCompleted();
            } catch (RuntimeException e) {
                logger.debug("{} already closed", node.getId(), e);
            }
        }
    }

    /** Nanoseconds from the start of the run to the first full config (CDS, LDS, EDS and RDS ACKed), or -1. */
    long timeToReadyNanos() {
        long r = readyNanos;
        return r == 0 ? -1 : r - startNanos;
    }

    /** Nanoseconds from {@code writeNanos} to the ACK of the watched change, or -1 if not seen. */
    long changeLatencyNanos(long writeNanos) {
        long a = changeAckNanos;
        return a == 0 ? -1 : a - writeNanos;
    }

    synchronized int responses() {
        return responses;
    }

    Throwable error() {
        return error;
    }

    String id() {
        return node.getId();
    }
}

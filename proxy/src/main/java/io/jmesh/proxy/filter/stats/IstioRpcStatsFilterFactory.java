package io.jmesh.proxy.filter.stats;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.rpc.RpcFilter;
import io.jmesh.proxy.network.rpc.RpcFilterCallbacks;
import io.jmesh.proxy.network.rpc.RpcFilterFactory;
import io.jmesh.proxy.network.rpc.RpcRequest;
import io.jmesh.proxy.network.rpc.RpcResponse;
import io.jmesh.proxy.stream.StreamInfo;

/**
 * Istio's stats for Bolt and Dubbo calls: {@code istio.stats} with a {@code stats.PluginConfig} in an rpc_proxy's
 * {@code filters}. Each call counts as a request in {@code istio_requests_total},
 * {@code istio_request_duration_milliseconds}, {@code istio_request_bytes} and {@code istio_response_bytes} (whole
 * frames), with {@code request_protocol} {@code bolt} or {@code dubbo} and {@code response_code} the protocol status
 * mapped to an HTTP status as for outlier detection (docs/rpc.md; 0 for a oneway call). Peer metadata travels in the
 * request's header map (Bolt) or attachments (Dubbo) as {@code x-envoy-peer-metadata} and
 * {@code x-envoy-peer-metadata-id}: the client sidecar adds them; the server sidecar reads them. The RPC response
 * carries none back, so the client side's {@code destination_*} workload labels are {@code unknown} (its
 * {@code destination_service} comes from the cluster). The service and method become labels only when asked
 * ({@code metrics[].dimensions}: {@code request.host} is the interface, {@code request.method} the method).
 */
public final class IstioRpcStatsFilterFactory implements RpcFilterFactory {

    @Override
    public String name() {
        return IstioStatsFilterFactory.NAME;
    }

    @Override
    public String typeUrl() {
        return StatsPluginConfig.TYPE_URL;
    }

    @Override
    public PerCall create(JsonNode config, Context context) throws ConfigException {
        StatsPluginConfig parsed = StatsPluginConfig.parseJson(config == null ? "{}" : config.toString(), "");
        IstioMetrics metrics;
        try {
            metrics = new IstioMetrics(context.stats(), context.trafficDirection(), parsed);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("metrics: " + e.getMessage()
                    + " (expected: the same tags_to_remove as the other istio.stats filters of this proxy)");
        }
        return request -> new RpcStats(metrics);
    }

    /** The filter of one call; on its event loop. */
    static final class RpcStats implements RpcFilter {
        private final IstioMetrics metrics;
        private RpcFilterCallbacks callbacks;
        private WorkloadMetadata peer = WorkloadMetadata.UNKNOWN;
        private String protocol;
        private String service;
        private long requestBytes;
        private long responseBytes;
        private int httpStatus;

        RpcStats(IstioMetrics metrics) {
            this.metrics = metrics;
        }

        @Override
        public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
            this.callbacks = callbacks;
            this.protocol = request.protocol();
            this.service = request.host();
            this.requestBytes = request.codec().frameBytes(request.message());
            if (metrics.reporter.serverSide()) {
                peer = metrics.peer(request.header(WorkloadMetadata.HEADER));
            } else if (metrics.ownHeader != null) {
                request.setHeader(WorkloadMetadata.HEADER, metrics.ownHeader);
                request.setHeader(WorkloadMetadata.ID_HEADER, metrics.ownId);
            }
            // The labels read the request now: the call's view may be gone by onDestroy.
            callbacks.streamInfo();
            return Status.CONTINUE;
        }

        @Override
        public Status onResponse(RpcResponse response, RpcFilterCallbacks callbacks) {
            this.callbacks = callbacks;
            Object m = response.message();
            var codec = callbacks.streamInfo().requestAttributes() instanceof RpcRequest r ? r.codec() : null;
            if (codec != null && m != null) {
                httpStatus = codec.httpStatus(m);
                responseBytes = codec.frameBytes(m);
            }
            return Status.CONTINUE;
        }

        @Override
        public void onDestroy() {
            if (callbacks == null) {
                return;
            }
            StreamInfo info = callbacks.streamInfo();
            String[] v = metrics.labels();
            metrics.fill(v, peer, info.downstreamConnection(), info.upstreamConnection(),
                    metrics.rpcDestinationService(info.upstreamCluster(), service), protocol, info.responseFlags(),
                    httpStatus, "", info);
            long durationMs = (System.nanoTime() - info.startNanos()) / 1_000_000L;
            metrics.recordRequest(v, durationMs, requestBytes, responseBytes, false, 0, 0);
        }
    }
}

package io.jmesh.discovery.server;

import java.time.Instant;
import java.util.Map;

/**
 * One connected client's sync state as {@code /debug/syncz} shows it (Istio's
 * {@code SyncStatus}): per type the version and nonce last sent, the version last ACKed, and the
 * last NACK with its message. Immutable copy.
 */
public record ProxyStatus(String connectionId, String nodeId, String proxyType, boolean delta, Instant connectedAt,
                          Map<String, TypeStatus> types) {

    /** The state of one resource type on one connection. */
    public record TypeStatus(String sentVersion, String sentNonce, String ackedVersion, String nackedVersion,
                             String lastNackMessage, int resourceCount) {

        /** Returns Istio's sync state: SYNCED, STALE (sent, not yet ACKed), NACKED or NOT SENT. */
        public String state() {
            if (sentVersion == null) {
                return "NOT SENT";
            }
            if (sentVersion.equals(nackedVersion)) {
                return "NACKED";
            }
            return sentVersion.equals(ackedVersion) ? "SYNCED" : "STALE";
        }
    }
}

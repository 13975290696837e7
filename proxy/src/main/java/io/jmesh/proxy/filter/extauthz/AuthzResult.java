package io.jmesh.proxy.filter.extauthz;

import java.util.List;

import com.google.protobuf.Struct;

/**
 * The answer of an authorization service, whichever its transport (Envoy's {@code ExtAuthz::Response}). Immutable.
 *
 * @param status                what the service decided, or {@link Status#ERROR} when it could not be asked
 * @param httpStatus            for {@link Status#DENIED}: the status for the client (403 when the service gave none)
 * @param upstreamHeaders       headers to set on (or, with {@link HeaderAction#append}, add to) the upstream request
 * @param upstreamHeadersToRemove headers to remove from the upstream request
 * @param clientHeaders         headers of the denied response, or to add to the response on success
 * @param body                  the body of the denied response
 * @param dynamicMetadata       the service's {@code dynamic_metadata}, or null
 * @param reason                for {@link Status#ERROR}: why, for the log
 */
public record AuthzResult(Status status, int httpStatus, List<HeaderAction> upstreamHeaders,
                          List<String> upstreamHeadersToRemove, List<HeaderAction> clientHeaders, String body,
                          Struct dynamicMetadata, String reason) {

    /** Allowed, denied, or the service failed (unreachable, timed out, a bad answer). */
    public enum Status { OK, DENIED, ERROR }

    /** One header to set or append. */
    public record HeaderAction(String name, String value, boolean append) {}

    /** The service could not answer. */
    public static AuthzResult error(String reason) {
        return new AuthzResult(Status.ERROR, 0, List.of(), List.of(), List.of(), "", null, reason);
    }
}

package io.jmesh.proxy.filter.jwt;

/**
 * The outcome of verifying one requirement, with Envoy's messages ({@code source/extensions/filters/http/
 * jwt_authn} and {@code jwt_verify_lib} {@code status.cc}): the message is the body of the local reply and, with
 * spaces as underscores, part of the response code details {@code jwt_authn_access_denied{...}}.
 */
enum JwtStatus {
    OK("OK", 200),
    JWT_MISSED("Jwt is missing", 401),
    JWT_EXPIRED("Jwt is expired", 401),
    JWT_NOT_YET_VALID("Jwt not yet valid", 401),
    JWT_BAD_FORMAT("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections", 401),
    JWT_HEADER_BAD_ALG("Jwt header [alg] is not supported", 401),
    JWT_UNKNOWN_ISSUER("Jwt issuer is not configured", 401),
    JWT_AUDIENCE_NOT_ALLOWED("Audiences in Jwt are not allowed", 403),
    JWT_VERIFICATION_FAIL("Jwt verification fails", 401),
    JWKS_FETCH_FAIL("Jwks remote fetch is failed", 401),
    JWKS_KID_ALG_MISMATCH("Jwks doesn't have key to match kid or alg from Jwt", 401);

    final String message;
    final int httpStatus;

    JwtStatus(String message, int httpStatus) {
        this.message = message;
        this.httpStatus = httpStatus;
    }

    /** Envoy's response code details for a request denied with this status. */
    String details() {
        return "jwt_authn_access_denied{" + message.replace(' ', '_') + "}";
    }
}

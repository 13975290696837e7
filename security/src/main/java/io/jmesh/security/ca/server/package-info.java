/**
 * The CA's gRPC service, {@code istio.v1.auth.IstioCertificateService/CreateCertificate}, and how it authenticates
 * callers: a bearer token from a token file ({@link io.jmesh.security.ca.server.TokenAuthenticator}) or the
 * caller's current mesh certificate ({@link io.jmesh.security.ca.server.ClientCertAuthenticator}).
 */
package io.jmesh.security.ca.server;

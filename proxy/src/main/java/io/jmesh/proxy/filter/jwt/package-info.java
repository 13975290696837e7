/**
 * Request authentication with JSON Web Tokens: Envoy's {@code envoy.filters.http.jwt_authn} (providers, local and
 * remote JWKS through the cluster manager, rules and requirements) and Istio's {@code istio_authn}, which turns the
 * verified payload into Istio's {@code request.auth.*} attributes.
 */
package io.jmesh.proxy.filter.jwt;

/**
 * End-user authentication support of the control plane: the JSON Web Key Sets of RequestAuthentication rules that
 * discovery fetches itself (OpenID discovery, and {@code jwksUri}s per {@code PILOT_JWT_ENABLE_REMOTE_JWKS}), as
 * istiod's {@code JwksResolver}.
 */
package io.jmesh.discovery.authn;

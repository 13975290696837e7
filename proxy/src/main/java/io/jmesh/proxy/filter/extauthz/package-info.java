/**
 * Envoy's external authorization: the HTTP filter {@code envoy.filters.http.ext_authz} (a gRPC
 * {@code envoy.service.auth.v3.Authorization/Check} service or a plain HTTP service) and the network filter
 * {@code envoy.filters.network.ext_authz} (gRPC), calling the service through a cluster of the cluster manager.
 */
package io.jmesh.proxy.filter.extauthz;

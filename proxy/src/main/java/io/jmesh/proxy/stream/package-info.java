/**
 * What one request or connection carries from stage to stage (Envoy's {@code StreamInfo} and connection
 * info): {@link io.jmesh.proxy.stream.StreamInfo} per request or TCP connection, filled by filters and the
 * router and read by the access log and stats; {@link io.jmesh.proxy.stream.ConnectionInfo} per downstream
 * and upstream connection; {@link io.jmesh.proxy.stream.RequestAttributes}, the protocol-neutral view of a
 * request that policy engines read. Depends on nothing else in the proxy.
 */
package io.jmesh.proxy.stream;

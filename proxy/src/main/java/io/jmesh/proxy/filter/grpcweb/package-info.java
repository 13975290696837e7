/**
 * {@code envoy.filters.http.grpc_web}: gRPC-Web ({@code application/grpc-web}, {@code application/grpc-web-text})
 * requests from browsers translated to gRPC for an HTTP/2 upstream, and the responses back, trailers carried as a
 * trailer frame at the end of the body (<a href="https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md">
 * PROTOCOL-WEB</a>).
 */
package io.jmesh.proxy.filter.grpcweb;

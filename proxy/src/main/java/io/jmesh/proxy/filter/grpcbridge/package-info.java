/**
 * {@code envoy.filters.http.grpc_http1_bridge}: unary gRPC from HTTP/1.1 clients that cannot read trailers (the
 * response is buffered and the {@code grpc-status} moved into its headers), and optionally plain protobuf bodies
 * ({@code application/x-protobuf}) upgraded to gRPC frames.
 */
package io.jmesh.proxy.filter.grpcbridge;

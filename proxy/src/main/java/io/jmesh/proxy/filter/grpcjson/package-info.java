/**
 * {@code envoy.filters.http.grpc_json_transcoder}: HTTP/JSON requests mapped to unary gRPC calls by the
 * {@code google.api.http} rules of a descriptor set, and the gRPC responses back to JSON.
 */
package io.jmesh.proxy.filter.grpcjson;

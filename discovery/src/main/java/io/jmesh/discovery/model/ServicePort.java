package io.jmesh.discovery.model;

/**
 * A port of a service: its name (endpoints map names to their own ports), number, Istio protocol
 * ({@code HTTP}, {@code HTTP2}, {@code GRPC}, {@code TCP}, {@code TLS}, ...; empty when sniffed)
 * and the default port on endpoints.
 */
public record ServicePort(String name, int number, String protocol, int targetPort) {

    /** Returns whether traffic on this port is HTTP of some kind (routed by RDS). */
    public boolean isHttp() {
        String p = protocol == null ? "" : protocol.toUpperCase(java.util.Locale.ROOT);
        return p.equals("HTTP") || p.equals("HTTP2") || p.equals("GRPC") || p.equals("GRPC-WEB")
                || (p.isEmpty() && name != null && (name.startsWith("http") || name.startsWith("grpc")));
    }

    /** Returns whether the upstream speaks HTTP/2 (gRPC, HTTP2). */
    public boolean isHttp2() {
        String p = protocol == null ? "" : protocol.toUpperCase(java.util.Locale.ROOT);
        return p.equals("HTTP2") || p.equals("GRPC") || p.equals("GRPC-WEB")
                || (p.isEmpty() && name != null && (name.startsWith("http2") || name.startsWith("grpc")));
    }
}

package io.jmesh.discovery.model;

/**
 * A port of a service: its name (endpoints map names to their own ports), number, Istio protocol
 * ({@code HTTP}, {@code HTTP2}, {@code GRPC}, {@code TCP}, {@code TLS}, ...; empty when sniffed)
 * and the default port on endpoints.
 *
 * <p>RPC ports, as SOFAMesh named them: protocol {@code DUBBO}, {@code BOLT} or {@code SOFARPC}, or, when
 * the protocol is empty, a name {@code dubbo}, {@code bolt} or {@code sofarpc}, alone or followed by
 * {@code -suffix} (Istio's port naming, {@code dubbo-demo}). See {@link #rpcProtocol()}.
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

    /**
     * Returns the RPC protocol of this port as the {@code rpc_proxy} filter names it, {@code "dubbo"} or
     * {@code "bolt"} ({@code SOFARPC} is Bolt), or {@code null} when this is not a Dubbo or Bolt port.
     */
    public String rpcProtocol() {
        String p = protocol == null ? "" : protocol.toLowerCase(java.util.Locale.ROOT);
        if (p.isEmpty() && name != null) {
            String n = name.toLowerCase(java.util.Locale.ROOT);
            int dash = n.indexOf('-');
            p = dash < 0 ? n : n.substring(0, dash);
        }
        return switch (p) {
            case "dubbo" -> "dubbo";
            case "bolt", "sofarpc" -> "bolt";
            default -> null;
        };
    }
}

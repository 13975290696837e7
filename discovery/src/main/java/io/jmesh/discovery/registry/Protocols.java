package io.jmesh.discovery.registry;

import java.util.Locale;

/**
 * The protocol names registries understand: Istio's ({@code pkg/config/protocol} {@code Parse}, where
 * {@code http_proxy} is plain HTTP here) and SOFAMesh's RPC ones. Each registry decides what an unknown name
 * means (Kubernetes: protocol sniffing; Consul: TCP).
 */
public final class Protocols {

    private Protocols() {}

    /**
     * Returns the service-port protocol named {@code name}, case-insensitively: {@code HTTP}, {@code HTTP2},
     * {@code GRPC}, {@code GRPC-WEB}, {@code HTTPS}, {@code TLS}, {@code TCP}, {@code UDP}, {@code MONGO},
     * {@code MYSQL}, {@code REDIS}, {@code DUBBO}, {@code BOLT} or {@code SOFARPC}; {@code ""} for any other name.
     */
    public static String parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "http", "http_proxy" -> "HTTP";
            case "http2" -> "HTTP2";
            case "grpc" -> "GRPC";
            case "grpc-web" -> "GRPC-WEB";
            case "https" -> "HTTPS";
            case "tls" -> "TLS";
            case "tcp" -> "TCP";
            case "udp" -> "UDP";
            case "mongo" -> "MONGO";
            case "mysql" -> "MYSQL";
            case "redis" -> "REDIS";
            case "dubbo" -> "DUBBO";
            case "bolt" -> "BOLT";
            case "sofarpc" -> "SOFARPC";
            default -> "";
        };
    }
}

package io.jmesh.discovery.xds;

import java.util.List;

/** The xDS v3 type URLs that discovery serves, in the order Envoy wants them pushed (CDS, EDS, LDS, RDS). */
public final class TypeUrls {

    public static final String CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public static final String ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public static final String LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public static final String ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    /** SDS over ADS: the {@code credentialName} secrets of gateways and DestinationRules, as istiod serves them. */
    public static final String SECRET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    /** All served types in push order. */
    public static final List<String> ALL = List.of(CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET);

    private TypeUrls() {}

    /** Returns Istio's short name of a type: {@code cds}, {@code eds}, {@code lds}, {@code rds}, or the URL. */
    public static String shortName(String typeUrl) {
        return switch (typeUrl) {
            case CLUSTER -> "cds";
            case ENDPOINT -> "eds";
            case LISTENER -> "lds";
            case ROUTE -> "rds";
            case SECRET -> "sds";
            default -> typeUrl;
        };
    }

    /** Returns whether a type is one whose SotW request with no names means "all" (LDS, CDS). */
    public static boolean isWildcardType(String typeUrl) {
        return typeUrl.equals(CLUSTER) || typeUrl.equals(LISTENER);
    }
}

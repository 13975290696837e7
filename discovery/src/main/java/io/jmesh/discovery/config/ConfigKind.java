package io.jmesh.discovery.config;

import java.util.List;
import java.util.Locale;

/**
 * The Istio kinds that discovery reads, with their API group and the Java type of their {@code spec}.
 * Versions are accepted as istiod accepts them: {@code v1}, {@code v1beta1} and {@code v1alpha3} for
 * networking.istio.io, {@code v1} and {@code v1beta1} for security.istio.io, {@code v1} and
 * {@code v1alpha1} for telemetry.istio.io. A kind of another {@code *.istio.io} group is not read here.
 */
public enum ConfigKind {
    SERVICE_ENTRY("ServiceEntry", Group.NETWORKING, ServiceEntry.class),
    WORKLOAD_ENTRY("WorkloadEntry", Group.NETWORKING, WorkloadEntry.class),
    VIRTUAL_SERVICE("VirtualService", Group.NETWORKING, VirtualService.class),
    DESTINATION_RULE("DestinationRule", Group.NETWORKING, DestinationRule.class),
    GATEWAY("Gateway", Group.NETWORKING, Gateway.class),
    SIDECAR("Sidecar", Group.NETWORKING, Sidecar.class),
    /** Served as v1alpha3 only (checked by {@link EnvoyFilterValidator}). */
    ENVOY_FILTER("EnvoyFilter", Group.NETWORKING, EnvoyFilter.class),
    PEER_AUTHENTICATION("PeerAuthentication", Group.SECURITY, PeerAuthentication.class),
    AUTHORIZATION_POLICY("AuthorizationPolicy", Group.SECURITY, AuthorizationPolicy.class),
    REQUEST_AUTHENTICATION("RequestAuthentication", Group.SECURITY, RequestAuthentication.class),
    TELEMETRY("Telemetry", Group.TELEMETRY, Telemetry.class);

    /** An API group and the versions of it that istiod serves. */
    public enum Group {
        NETWORKING("networking.istio.io", "v1", "v1beta1", "v1alpha3"),
        SECURITY("security.istio.io", "v1", "v1beta1"),
        TELEMETRY("telemetry.istio.io", "v1", "v1alpha1");

        private final String name;
        private final List<String> versions;

        Group(String name, String... versions) {
            this.name = name;
            this.versions = List.of(versions);
        }

        /** The group's name, e.g. {@code networking.istio.io}. */
        public String groupName() {
            return name;
        }

        /** Returns whether {@code apiVersion} ({@code group/version}) is one of this group's versions. */
        public boolean accepts(String apiVersion) {
            if (apiVersion == null) {
                return false;
            }
            String v = apiVersion.toLowerCase(Locale.ROOT);
            for (String version : versions) {
                if (v.equals(name + "/" + version)) {
                    return true;
                }
            }
            return false;
        }

        /** The accepted versions as an error message's {@code expected:} text. */
        public String expected() {
            return name + "/" + String.join(", /", versions);
        }
    }

    /** The API group of the networking kinds. */
    public static final String GROUP = Group.NETWORKING.groupName();

    private final String kindName;
    private final Group group;
    private final Class<?> specType;

    ConfigKind(String kindName, Group group, Class<?> specType) {
        this.kindName = kindName;
        this.group = group;
        this.specType = specType;
    }

    /** Returns Istio's name of the kind, e.g. {@code VirtualService}. */
    public String kindName() {
        return kindName;
    }

    /** Returns the kind's API group. */
    public Group group() {
        return group;
    }

    /** Returns the record type that holds the spec. */
    public Class<?> specType() {
        return specType;
    }

    /** Returns the kind named {@code name}, or {@code null} if discovery does not read it. */
    public static ConfigKind of(String name) {
        for (ConfigKind k : values()) {
            if (k.kindName.equals(name)) {
                return k;
            }
        }
        return null;
    }
}

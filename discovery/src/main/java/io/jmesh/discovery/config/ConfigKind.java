package io.jmesh.discovery.config;

import java.util.Locale;

/**
 * The Istio kinds that discovery reads, with the Java type of their {@code spec}. All are in the
 * {@code networking.istio.io} group; versions {@code v1}, {@code v1beta1} and {@code v1alpha3} are
 * accepted alike, as istiod does.
 */
public enum ConfigKind {
    SERVICE_ENTRY("ServiceEntry", ServiceEntry.class),
    WORKLOAD_ENTRY("WorkloadEntry", WorkloadEntry.class),
    VIRTUAL_SERVICE("VirtualService", VirtualService.class),
    DESTINATION_RULE("DestinationRule", DestinationRule.class),
    GATEWAY("Gateway", Gateway.class),
    SIDECAR("Sidecar", Sidecar.class);

    /** The API group of every kind here. */
    public static final String GROUP = "networking.istio.io";

    private final String kindName;
    private final Class<?> specType;

    ConfigKind(String kindName, Class<?> specType) {
        this.kindName = kindName;
        this.specType = specType;
    }

    /** Returns Istio's name of the kind, e.g. {@code VirtualService}. */
    public String kindName() {
        return kindName;
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

    /** Returns whether {@code apiVersion} is one of the accepted networking versions. */
    public static boolean isSupportedApiVersion(String apiVersion) {
        if (apiVersion == null) {
            return false;
        }
        String v = apiVersion.toLowerCase(Locale.ROOT);
        return v.equals(GROUP + "/v1") || v.equals(GROUP + "/v1beta1") || v.equals(GROUP + "/v1alpha3");
    }
}

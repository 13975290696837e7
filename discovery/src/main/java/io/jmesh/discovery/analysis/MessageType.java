package io.jmesh.discovery.analysis;

import java.util.Locale;

/**
 * A kind of analysis message: Istio's name, code, level and text template, as in Istio's
 * {@code pkg/config/analysis/msg/messages.yaml}. Templates use {@link String#format} with {@code %s};
 * where Istio quotes an argument ({@code %q}) the analyzer passes it through {@link #quote}.
 */
public record MessageType(String name, String code, Level level, String template) {

    public static final MessageType REFERENCED_RESOURCE_NOT_FOUND = new MessageType("ReferencedResourceNotFound",
            "IST0101", Level.ERROR, "Referenced %s not found: %s");
    public static final MessageType SCHEMA_VALIDATION_ERROR = new MessageType("SchemaValidationError",
            "IST0106", Level.ERROR, "Schema validation error: %s");
    public static final MessageType SCHEMA_WARNING = new MessageType("SchemaWarning", "IST0133", Level.WARNING,
            "Schema validation warning: %s");
    public static final MessageType CONFLICTING_MESH_GATEWAY_VIRTUAL_SERVICE_HOSTS = new MessageType(
            "ConflictingMeshGatewayVirtualServiceHosts", "IST0109", Level.ERROR,
            "The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined "
                    + "behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.");
    public static final MessageType MULTIPLE_SIDECARS_WITHOUT_WORKLOAD_SELECTORS = new MessageType(
            "MultipleSidecarsWithoutWorkloadSelectors", "IST0111", Level.ERROR,
            "The Sidecars %s in namespace %s have no workload selector, which can lead to undefined behavior.");
    public static final MessageType VIRTUAL_SERVICE_DESTINATION_PORT_SELECTOR_REQUIRED = new MessageType(
            "VirtualServiceDestinationPortSelectorRequired", "IST0112", Level.ERROR,
            "This VirtualService routes to a service %s that exposes multiple ports %s. Specifying a port in the "
                    + "destination is required to disambiguate.");
    public static final MessageType NO_MATCHING_WORKLOADS_FOUND = new MessageType("NoMatchingWorkloadsFound",
            "IST0127", Level.WARNING, "No matching workloads for this resource with the following labels: %s");
    public static final MessageType NO_SERVER_CERTIFICATE_VERIFICATION_DESTINATION_LEVEL = new MessageType(
            "NoServerCertificateVerificationDestinationLevel", "IST0128", Level.WARNING,
            "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate "
                    + "server identity for host: %s");
    public static final MessageType NO_SERVER_CERTIFICATE_VERIFICATION_PORT_LEVEL = new MessageType(
            "NoServerCertificateVerificationPortLevel", "IST0129", Level.WARNING,
            "DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate "
                    + "server identity for host: %s at port %s");
    public static final MessageType VIRTUAL_SERVICE_UNREACHABLE_RULE = new MessageType(
            "VirtualServiceUnreachableRule", "IST0130", Level.WARNING, "VirtualService rule %s not used (%s).");
    public static final MessageType VIRTUAL_SERVICE_INEFFECTIVE_MATCH = new MessageType(
            "VirtualServiceIneffectiveMatch", "IST0131", Level.INFO,
            "VirtualService rule %s match %s is not used (duplicate/overlapping match in rule %s).");
    public static final MessageType VIRTUAL_SERVICE_HOST_NOT_FOUND_IN_GATEWAY = new MessageType(
            "VirtualServiceHostNotFoundInGateway", "IST0132", Level.WARNING,
            "one or more host %s defined in VirtualService %s not found in Gateway %s.");
    public static final MessageType SERVICE_ENTRY_ADDRESSES_REQUIRED = new MessageType(
            "ServiceEntryAddressesRequired", "IST0134", Level.WARNING,
            "ServiceEntry addresses are required for this protocol.");
    public static final MessageType CONFLICTING_GATEWAYS = new MessageType("ConflictingGateways", "IST0145",
            Level.ERROR, "Conflict with gateways %s (workload selector %s, port %s, hosts %s).");

    /** Returns the text with {@code args} filled in. */
    public String format(Object... args) {
        return String.format(Locale.ROOT, template, args);
    }

    /** Quotes {@code s} as Go's {@code %q} does for printable text. */
    public static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    /** The page of Istio's documentation about this message. */
    public String documentationUrl() {
        return "https://istio.io/latest/docs/reference/config/analysis/" + code.toLowerCase(Locale.ROOT) + "/";
    }
}

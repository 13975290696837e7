package io.jmesh.discovery.model;

import java.util.List;
import java.util.Objects;

/**
 * A service as every registry describes it to the model (Istio's {@code model.Service}): a fully
 * qualified host, the namespace that owns it, its ports, how its endpoints are found and which
 * registry it came from. Immutable.
 *
 * @param resolution STATIC (endpoints by EDS), DNS, DNS_ROUND_ROBIN or NONE (original destination)
 * @param registry   the name of the {@link io.jmesh.discovery.registry.ServiceRegistry} that owns it
 * @param subjectAltNames identities its workloads present besides their service accounts' (a ServiceEntry's
 *                   {@code subjectAltNames}), checked by clients with ISTIO_MUTUAL
 * @param exportTo   the namespaces that see it (a ServiceEntry's {@code exportTo}: {@code .}, {@code *}, {@code ~}
 *                   or names); empty means every namespace
 */
public record Service(String hostname, String namespace, List<ServicePort> ports, String resolution,
                      boolean meshExternal, List<String> addresses, String registry, List<String> subjectAltNames,
                      List<String> exportTo) {

    /** A service visible to every namespace. */
    public Service(String hostname, String namespace, List<ServicePort> ports, String resolution, boolean meshExternal,
                   List<String> addresses, String registry, List<String> subjectAltNames) {
        this(hostname, namespace, ports, resolution, meshExternal, addresses, registry, subjectAltNames, List.of());
    }

    /** A service without extra subject alternative names. */
    public Service(String hostname, String namespace, List<ServicePort> ports, String resolution, boolean meshExternal,
                   List<String> addresses, String registry) {
        this(hostname, namespace, ports, resolution, meshExternal, addresses, registry, List.of());
    }

    public Service {
        subjectAltNames = subjectAltNames == null ? List.of() : List.copyOf(subjectAltNames);
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(namespace, "namespace");
        ports = List.copyOf(ports);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        resolution = resolution == null ? "NONE" : resolution;
    }

    /** Returns whether proxies in {@code namespace} see this service ({@code exportTo}, as Istio's visibility). */
    public boolean visibleFrom(String namespace) {
        return visibleFrom(namespace, List.of());
    }

    /** As {@link #visibleFrom(String)}, with the mesh's {@code defaultServiceExportTo} when it sets none. */
    public boolean visibleFrom(String namespace, List<String> defaultExportTo) {
        return io.jmesh.discovery.config.ConfigValidator.exportedTo(exportTo.isEmpty() ? defaultExportTo : exportTo,
                this.namespace, namespace);
    }

    /** Returns the port numbered {@code number}, or {@code null}. */
    public ServicePort port(int number) {
        for (ServicePort p : ports) {
            if (p.number() == number) {
                return p;
            }
        }
        return null;
    }
}

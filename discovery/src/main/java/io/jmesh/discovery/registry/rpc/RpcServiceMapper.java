package io.jmesh.discovery.registry.rpc;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Maps RPC providers (Dubbo, SOFARPC) to mesh services and endpoints, the way SOFAMesh did:
 *
 * <ul>
 *   <li><b>Host:</b> one service per interface, named by the interface itself, lower-cased to a DNS
 *       name ({@link #hostname}): {@code org.example.DemoService} becomes
 *       {@code org.example.demoservice}. The name has dots, so Istio config takes it as a fully
 *       qualified host: {@code hosts: [org.example.demoservice]} in a VirtualService, {@code host:}
 *       in a DestinationRule. Characters other than letters, digits, {@code .} and {@code -}
 *       ({@code _}, {@code $}) become {@code -}. Namespace {@value #NAMESPACE}.</li>
 *   <li><b>Ports:</b> one fixed service port per protocol, the protocol's well-known port, with each
 *       endpoint on the provider's own port (like a Kubernetes Service and its pods):
 *       {@code dubbo} 20880 (protocol {@code DUBBO}), {@code tri} 50051 (named {@code grpc-tri},
 *       protocol {@code GRPC}: Triple is gRPC-compatible), {@code bolt} 12200 (protocol
 *       {@code BOLT}). So clusters are {@code outbound|20880||org.example.demoservice}, whatever
 *       ports the providers listen on. Providers of other protocols are skipped.</li>
 *   <li><b>Labels</b> (for DestinationRule subsets), only when not empty: {@code version},
 *       {@code group} (Dubbo's {@code group}, SOFARPC's {@code uniqueId}), {@code application}
 *       (Dubbo's {@code application}, SOFARPC's {@code appName}) and {@code protocol}.</li>
 *   <li><b>Weight:</b> the provider's {@code weight} parameter (Dubbo's and SOFARPC's default is
 *       100, used when absent); a disabled Dubbo provider ({@code enabled=false},
 *       {@code disabled=true}) is left out.</li>
 * </ul>
 * Resolution is {@code STATIC} (endpoints by EDS). Stateless and thread-safe.
 */
public final class RpcServiceMapper {

    /** The namespace of every RPC service. */
    public static final String NAMESPACE = "default";

    /** The weight of a provider that does not say (Dubbo's and SOFARPC's default). */
    public static final int DEFAULT_WEIGHT = 100;

    /** Service ports by provider protocol (URL scheme). */
    public static final Map<String, ServicePort> PORTS = Map.of(
            "dubbo", new ServicePort("dubbo", 20880, "DUBBO", 20880),
            "tri", new ServicePort("grpc-tri", 50051, "GRPC", 50051),
            "bolt", new ServicePort("bolt", 12200, "BOLT", 12200));

    /** One provider of one interface, as found in a registry. */
    public record Provider(String interfaceName, ProviderUrl url) {}

    /** Services and endpoints of a set of providers, consistent with each other. Immutable. */
    public record Catalog(List<Service> services, List<Endpoint> endpoints) {

        /** The catalog of no providers. */
        public static final Catalog EMPTY = new Catalog(List.of(), List.of());

        public Catalog {
            services = List.copyOf(services);
            endpoints = List.copyOf(endpoints);
        }
    }

    private RpcServiceMapper() {}

    /** Returns the mesh host of {@code interfaceName}, or {@code ""} if nothing is left of it. */
    public static String hostname(String interfaceName) {
        String lower = interfaceName.toLowerCase(Locale.ROOT);
        StringBuilder out = new StringBuilder(lower.length());
        for (String label : lower.split("\\.")) {
            StringBuilder l = new StringBuilder(label.length());
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                l.append((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ? c : '-');
            }
            int start = 0;
            int end = l.length();
            while (start < end && l.charAt(start) == '-') {
                start++;
            }
            while (end > start && l.charAt(end - 1) == '-') {
                end--;
            }
            if (end - start > 63) {
                end = start + 63;
            }
            if (end > start) {
                if (out.length() > 0) {
                    out.append('.');
                }
                out.append(l, start, end);
            }
        }
        return out.length() > 255 ? out.substring(0, 255) : out.toString();
    }

    /** Returns the endpoint labels of {@code url} (see the class comment). */
    public static Map<String, String> labels(ProviderUrl url) {
        Map<String, String> labels = new LinkedHashMap<>();
        put(labels, "version", url.parameter("version"));
        put(labels, "group", first(url.parameter("group"), url.parameter("uniqueId")));
        put(labels, "application", first(url.parameter("application"), url.parameter("appName")));
        put(labels, "protocol", url.protocol());
        return labels;
    }

    /** Returns the load-balancing weight of {@code url}: its {@code weight} parameter, else 100. */
    public static int weight(ProviderUrl url) {
        String w = url.parameter("weight");
        if (w.isEmpty()) {
            return DEFAULT_WEIGHT;
        }
        try {
            return Math.max(1, Integer.parseInt(w.trim()));
        } catch (NumberFormatException e) {
            return DEFAULT_WEIGHT;
        }
    }

    /**
     * Builds services and endpoints from {@code providers}; {@code registry} names the registry in
     * each {@link Service}. Providers with an unknown protocol, disabled, or whose interface leaves
     * no host name are skipped. Services are sorted by host, ports by number, endpoints by host,
     * port, address and port number, so equal inputs give equal catalogs.
     */
    public static Catalog build(Collection<Provider> providers, String registry) {
        Map<String, Map<Integer, ServicePort>> portsByHost = new TreeMap<>();
        Map<String, Endpoint> endpoints = new TreeMap<>();
        for (Provider p : providers) {
            ServicePort port = PORTS.get(p.url().protocol());
            String host = hostname(p.interfaceName());
            if (port == null || host.isEmpty() || !p.url().enabled()) {
                continue;
            }
            portsByHost.computeIfAbsent(host, h -> new TreeMap<>()).put(port.number(), port);
            Endpoint e = new Endpoint(host, port.name(), p.url().host(), p.url().port(), labels(p.url()), "",
                    weight(p.url()), "", "");
            // One endpoint per address, port and group: one server may export two groups of an
            // interface (two subsets); the same registration seen twice counts once.
            endpoints.putIfAbsent(host + ' ' + port.number() + ' ' + e.address() + ' ' + e.port()
                    + ' ' + e.labels().get("group"), e);
        }
        List<Service> services = new ArrayList<>();
        portsByHost.forEach((host, ports) -> services.add(new Service(host, NAMESPACE, List.copyOf(ports.values()),
                "STATIC", false, List.of(), registry)));
        return new Catalog(services, List.copyOf(endpoints.values()));
    }

    private static String first(String a, String b) {
        return a.isEmpty() ? b : a;
    }

    private static void put(Map<String, String> labels, String key, String value) {
        if (!value.isEmpty()) {
            labels.put(key, value);
        }
    }
}

package io.jmesh.discovery.config;

import io.jmesh.proxy.config.ConfigException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Validates Istio objects as istiod's validation webhook does (the subset of rules that matters
 * for the fields discovery supports). Each failure is a {@link ConfigException} whose message is
 * {@code spec.field.path: value (expected: ...)}. Stateless.
 */
public final class ConfigValidator {

    private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS1123_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");
    private static final Set<String> PROTOCOLS = Set.of("HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO",
            "REDIS", "MYSQL", "TCP", "TLS", "UDP", "DUBBO", "BOLT", "SOFARPC");
    private static final Set<String> LB_SIMPLE = Set.of("UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH",
            "ROUND_ROBIN", "LEAST_REQUEST");
    private static final Set<String> CLIENT_TLS_MODES = Set.of("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL");
    private static final Set<String> SERVER_TLS_MODES = Set.of("PASSTHROUGH", "SIMPLE", "MUTUAL",
            "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL");

    /** A VirtualService header name that routes on a JWT claim, as Istio spells it. */
    private static final String CLAIM_PREFIX = "@request.auth.claims.";

    private ConfigValidator() {}

    /** Validates one object, dropping warnings; throws with the problems found. */
    public static void validate(Config<?> config) throws ConfigException {
        validate(config, w -> { });
    }

    /**
     * Validates one object; throws with the problems found, and hands what istiod would accept with a warning
     * (a partial wildcard host such as {@code *x}) to {@code warnings}, as {@code field.path: value (reason)}.
     */
    public static void validate(Config<?> config, java.util.function.Consumer<String> warnings)
            throws ConfigException {
        Object spec = config.spec();
        String namespace = config.meta().namespace();
        if (spec instanceof ServiceEntry se) {
            validateExportTo(namespace, se.exportTo(), true, false);
            validateServiceEntry(se, warnings);
        } else if (spec instanceof WorkloadEntry we) {
            validateWorkloadEntry(we, "spec", false);
        } else if (spec instanceof VirtualService vs) {
            validateExportTo(namespace, vs.exportTo(), false, false);
            validateVirtualService(vs);
        } else if (spec instanceof DestinationRule dr) {
            validateExportTo(namespace, dr.exportTo(), false, dr.workloadSelector() != null);
            validateDestinationRule(dr);
        } else if (spec instanceof Gateway gw) {
            validateGateway(gw);
        } else if (spec instanceof Sidecar sc) {
            validateSidecar(sc);
        } else if (spec instanceof PeerAuthentication pa) {
            validatePeerAuthentication(pa);
        } else if (spec instanceof AuthorizationPolicy ap) {
            AuthorizationPolicyValidator.validate(ap);
        } else if (spec instanceof RequestAuthentication ra) {
            RequestAuthenticationValidator.validate(ra);
        } else if (spec instanceof Telemetry t) {
            TelemetryValidator.validate(t);
        } else if (spec instanceof EnvoyFilter ef) {
            EnvoyFilterValidator.validate(config.meta().apiVersion(), ef, warnings);
        }
        UnappliedFields.warn(spec, warnings);
    }

    /**
     * As istiod's {@code validateExportTo}: entries are {@code .} (the object's namespace), {@code *} (every
     * namespace), a namespace name, or {@code ~} (no one; ServiceEntry only); no duplicates ({@code .} counts as the
     * namespace's name); {@code *} and {@code ~} stand alone; a DestinationRule with a workload selector is exported
     * to its own namespace only.
     */
    static void validateExportTo(String namespace, List<String> exportTo, boolean serviceEntry,
                                 boolean destinationRuleWithSelector) throws ConfigException {
        if (exportTo.isEmpty()) {
            return;
        }
        ValidationErrors errs = new ValidationErrors();
        Set<String> seen = new java.util.LinkedHashSet<>();
        for (int i = 0; i < exportTo.size(); i++) {
            String e = exportTo.get(i);
            String path = "spec.exportTo[" + i + "]";
            String key = ".".equals(e) ? namespace : e;
            if (seen.contains(key)) {
                errs.add(path + ": " + e + (key.equals(e) ? " (expected: no duplicate entries in exportTo)"
                        : " (expected: no duplicate entries in exportTo: . and current namespace " + namespace + ")"));
            } else if ("~".equals(e) && !serviceEntry) {
                errs.add(path + ": ~ (expected: ., * or a namespace; ~ is for ServiceEntry only)");
            } else if (!"~".equals(key) && !"*".equals(key)
                    && (key == null || key.length() > 63 || !DNS1123_LABEL.matcher(key).matches())) {
                errs.add(path + ": " + e + " (expected: ., * or a valid DNS-1123 label as exportTo entry)");
            } else {
                seen.add(key);
            }
        }
        if (destinationRuleWithSelector && !seen.isEmpty()) {
            if (!seen.contains(namespace)) {
                errs.add("spec.exportTo: " + exportTo + " (expected: the rule's namespace only; destination rule with "
                        + "workload selector cannot have exportTo beyond current namespace)");
            } else if (seen.size() > 1) {
                errs.add("spec.exportTo: " + exportTo + " (expected: one entry; destination rule with workload "
                        + "selector cannot have multiple entries in exportTo)");
            }
        }
        if (seen.contains("*") && exportTo.size() > 1) {
            errs.add("spec.exportTo: " + exportTo + " (expected: * alone; cannot have both public (*) and non-public "
                    + "exportTo values)");
        }
        if (seen.contains("~") && exportTo.size() > 1) {
            errs.add("spec.exportTo: " + exportTo + " (expected: ~ alone; cannot export service entry to no one (~) "
                    + "and someone)");
        }
        errs.throwIfAny();
    }

    /**
     * Returns whether an object of {@code ownNamespace} with {@code exportTo} is visible from {@code namespace}, as
     * Istio's visibility: unset or {@code *} is every namespace, {@code .} its own, {@code ~} none, else the named ones.
     */
    public static boolean exportedTo(List<String> exportTo, String ownNamespace, String namespace) {
        if (exportTo.isEmpty() || exportTo.contains("*")) {
            return true;
        }
        return (exportTo.contains(".") && ownNamespace.equals(namespace)) || exportTo.contains(namespace);
    }

    static void validateName(String name) throws ConfigException {
        if (name == null || name.isEmpty()) {
            throw new ConfigException("metadata.name: missing (expected: a DNS-1123 subdomain)");
        }
        if (name.length() > 253 || !DNS1123_SUBDOMAIN.matcher(name).matches()) {
            throw new ConfigException("metadata.name: " + name + " (expected: a DNS-1123 subdomain)");
        }
    }

    static void validateNamespace(String namespace) throws ConfigException {
        if (namespace.length() > 63 || !DNS1123_LABEL.matcher(namespace).matches()) {
            throw new ConfigException("metadata.namespace: " + namespace + " (expected: a DNS-1123 label)");
        }
    }

    // ---- ServiceEntry / WorkloadEntry

    private static final Pattern PORT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

    /**
     * As istiod's {@code ValidateServiceEntry}: every problem of the entry is reported, and what Istio accepts with a
     * warning (a partial wildcard host such as {@code *x}, a selector without labels, TCP ports without addresses)
     * goes to {@code warn}. Ports may be left out, as in Istio.
     */
    private static void validateServiceEntry(ServiceEntry se, java.util.function.Consumer<String> warn)
            throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        String resolution = se.resolution() == null ? "NONE" : se.resolution();
        if (!Set.of("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN").contains(resolution)) {
            errs.add("spec.resolution: " + resolution + " (expected: NONE, STATIC, DNS or DNS_ROUND_ROBIN)");
        }
        if (se.location() != null && !Set.of("MESH_EXTERNAL", "MESH_INTERNAL").contains(se.location())) {
            errs.add("spec.location: " + se.location() + " (expected: MESH_EXTERNAL or MESH_INTERNAL)");
        }
        if (se.workloadSelector() != null) {
            if (se.workloadSelector().labels().isEmpty()) {
                warn.accept("spec.workloadSelector.labels: {} (selects every workload of the namespace)");
            }
            errs.check(() -> validateLabels(se.workloadSelector().labels(), "spec.workloadSelector.labels"));
            for (Map.Entry<String, String> e : se.workloadSelector().labels().entrySet()) {
                if (e.getValue().contains("*")) {
                    errs.add("spec.workloadSelector.labels." + e.getKey() + ": " + e.getValue()
                            + " (expected: no wildcard; wildcard is not supported in selector)");
                }
            }
            if (!se.endpoints().isEmpty()) {
                errs.add("spec.workloadSelector: set with endpoints (expected: only one of WorkloadSelector or "
                        + "Endpoints)");
            }
        }
        if (se.hosts().isEmpty()) {
            errs.add("spec.hosts: [] (expected: at least one host)");
        }
        for (int i = 0; i < se.hosts().size(); i++) {
            String host = se.hosts().get(i);
            String path = "spec.hosts[" + i + "]";
            if ("*".equals(host)) {
                errs.add(path + ": * (expected: a host name or *.domain; hostname cannot be wildcard)");
                continue;
            }
            errs.check(() -> validateWildcardHost(host, path));
            if (host != null && isPartialWildcard(host)) {
                warn.accept(path + ": " + host + " (partial wildcard not allowed: a wildcard is * or *.domain)");
            }
        }
        boolean cidr = false;
        for (int i = 0; i < se.addresses().size(); i++) {
            String a = se.addresses().get(i);
            cidr |= a.contains("/");
            if (!isIpOrCidr(a)) {
                errs.add("spec.addresses[" + i + "]: " + a + " (expected: an IP address or CIDR)");
            }
        }
        if (cidr && !resolution.equals("NONE") && !resolution.equals("STATIC")) {
            errs.add("spec.addresses: " + se.addresses() + " (expected: no CIDR with resolution " + resolution
                    + "; CIDR addresses are allowed only for NONE/STATIC resolution types)");
        }
        Set<String> portNames = new HashSet<>();
        Set<Integer> portNumbers = new HashSet<>();
        for (int i = 0; i < se.ports().size(); i++) {
            ServiceEntry.Port p = se.ports().get(i);
            String path = "spec.ports[" + i + "]";
            if (p == null) {
                errs.add(path + ": null (expected: a port)");
                continue;
            }
            errs.check(() -> validatePort(p.number(), path + ".number"));
            if (p.targetPort() != null && p.targetPort() != 0) {
                errs.check(() -> validatePort(p.targetPort(), path + ".targetPort"));
            }
            errs.check(() -> validateProtocol(p.protocol(), path + ".protocol"));
            if (p.name() == null || p.name().isEmpty()) {
                errs.add(path + ".name: missing (expected: a port name)");
            } else if (!PORT_NAME.matcher(p.name()).matches() || p.name().length() > 63) {
                errs.add(path + ".name: " + p.name() + " (expected: a DNS-1123 label; invalid port name)");
            } else if (!portNames.add(p.name())) {
                errs.add(path + ".name: " + p.name() + " (expected: a name unique in the entry)");
            }
            if (p.number() != null && !portNumbers.add(p.number())) {
                errs.add(path + ".number: " + p.number() + " (expected: a number unique in the entry)");
            }
            if (se.addresses().isEmpty() && (p.protocol() == null || p.protocol().isEmpty()
                    || p.protocol().equalsIgnoreCase("TCP"))) {
                warn.accept(path + ".protocol: " + (p.protocol() == null ? "unset" : p.protocol())
                        + " (addresses are required for ports serving TCP (or unset) protocol)");
            }
        }
        switch (resolution) {
            case "NONE" -> {
                if (!se.endpoints().isEmpty()) {
                    errs.add("spec.endpoints: " + se.endpoints().size() + " endpoints (expected: none with resolution "
                            + "NONE; NONE mode cannot set endpoints)");
                }
                if (se.workloadSelector() != null) {
                    warn.accept("spec.workloadSelector: set (should not be set when resolution mode is NONE)");
                }
            }
            case "STATIC" -> {
                for (int i = 0; i < se.endpoints().size(); i++) {
                    validateWorkloadEntry(se.endpoints().get(i), "spec.endpoints[" + i + "]", portNames, false,
                            errs, warn);
                }
            }
            case "DNS", "DNS_ROUND_ROBIN" -> {
                if (se.endpoints().isEmpty()) {
                    for (int i = 0; i < se.hosts().size(); i++) {
                        String host = se.hosts().get(i);
                        if (host != null && host.contains("*")) {
                            errs.add("spec.hosts[" + i + "]: " + host + " (expected: no wildcard host with resolution "
                                    + resolution + " and no endpoints; hosts must be FQDN)");
                        }
                    }
                }
                if (resolution.equals("DNS_ROUND_ROBIN") && se.endpoints().size() > 1) {
                    errs.add("spec.endpoints: " + se.endpoints().size() + " endpoints (expected: 0 or 1 with "
                            + "resolution DNS_ROUND_ROBIN; DNS_ROUND_ROBIN mode cannot have multiple endpoints)");
                }
                for (int i = 0; i < se.endpoints().size(); i++) {
                    validateWorkloadEntry(se.endpoints().get(i), "spec.endpoints[" + i + "]", portNames, true,
                            errs, warn);
                }
            }
            default -> { }
        }
        if (!resolution.equals("NONE") && se.hosts().size() > 1) {
            for (int i = 0; i < se.ports().size(); i++) {
                ServiceEntry.Port p = se.ports().get(i);
                String proto = p == null || p.protocol() == null ? "" : p.protocol().toUpperCase(java.util.Locale.ROOT);
                if (!Set.of("HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTPS", "TLS").contains(proto)) {
                    errs.add("spec.ports[" + i + "].protocol: " + (proto.isEmpty() ? "unset" : proto)
                            + " (expected: HTTP or TLS with several hosts; multiple hosts provided with non-HTTP, "
                            + "non-TLS ports)");
                    break;
                }
            }
        }
        errs.throwIfAny();
    }

    /** {@code *x} or {@code a*}: a {@code *} that is neither the whole host nor a leading {@code *.}. */
    private static boolean isPartialWildcard(String host) {
        return host.contains("*") && host.length() != 1 && !host.startsWith("*.");
    }

    private static boolean isIpOrCidr(String a) {
        int slash = a.indexOf('/');
        if (slash < 0) {
            return isIp(a);
        }
        String ip = a.substring(0, slash);
        String bits = a.substring(slash + 1);
        if (!isIp(ip) || !bits.matches("[0-9]{1,3}")) {
            return false;
        }
        return Integer.parseInt(bits) <= (ip.contains(":") ? 128 : 32);
    }

    /** A WorkloadEntry spec on its own: as istiod's {@code ValidateWorkloadEntry} (host names allowed). */
    private static void validateWorkloadEntry(WorkloadEntry we, String path, boolean requireIp)
            throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        validateWorkloadEntry(we, path, null, !requireIp, errs, w -> { });
        errs.throwIfAny();
    }

    /**
     * As istiod's {@code validateWorkloadEntry}: an address (unless a network is set), a Unix socket
     * ({@code unix:///abs/path} or {@code unix://@abstract}, without ports), an IP, or (when {@code allowFqdn}) a
     * host name; port names that are DNS-1123 labels, defined by the entry when {@code servicePorts} is given.
     */
    private static void validateWorkloadEntry(WorkloadEntry we, String path, Set<String> servicePorts,
                                              boolean allowFqdn, ValidationErrors errs,
                                              java.util.function.Consumer<String> warn) {
        if (we == null) {
            errs.add(path + ": null (expected: an endpoint)");
            return;
        }
        String addr = we.address() == null ? "" : we.address();
        if (addr.isEmpty()) {
            if (we.network() == null || we.network().isEmpty()) {
                errs.add(path + ".address: missing (expected: an IP address or hostname; address is required)");
            } else {
                warn.accept(path + ".address: unset (with network " + we.network() + ")");
            }
        }
        if (addr.startsWith("unix://")) {
            String uds = addr.substring("unix://".length());
            if (uds.isEmpty()) {
                errs.add(path + ".address: " + addr + " (expected: unix:///absolute/path or unix://@abstract)");
            } else if (!uds.startsWith("@")) {
                if (!uds.startsWith("/")) {
                    errs.add(path + ".address: " + addr + " (expected: unix:///absolute/path or unix://@abstract; "
                            + "UDS must be an absolute path or abstract socket)");
                } else if (uds.endsWith("/")) {
                    errs.add(path + ".address: " + addr + " (expected: a path to a file; UDS may not be a dir)");
                }
            }
            if (!we.ports().isEmpty()) {
                errs.add(path + ".ports: " + we.ports().keySet() + " (expected: none for " + addr
                        + "; UDS may not include ports)");
            }
        } else if (!addr.isEmpty() && !isIp(addr)) {
            if (!allowFqdn) {
                errs.add(path + ".address: " + addr + " (expected: an IP address with resolution STATIC)");
            } else {
                errs.check(() -> validateFqdn(addr, path + ".address"));
            }
        }
        for (Map.Entry<String, Integer> e : we.ports().entrySet()) {
            String name = e.getKey();
            if (!PORT_NAME.matcher(name).matches() || name.length() > 63) {
                errs.add(path + ".ports." + name + ": " + name + " (expected: a DNS-1123 label; invalid port name)");
            } else if (servicePorts != null && !servicePorts.contains(name)) {
                errs.add(path + ".ports." + name + ": " + e.getValue() + " (expected: a port name of the entry's ports "
                        + servicePorts + "; endpoint port is not defined by the service entry)");
            }
            errs.check(() -> validatePort(e.getValue(), path + ".ports." + name));
        }
        if (we.weight() != null && (we.weight() < 0 || we.weight() > 0xFFFF_FFFFL)) {
            errs.add(path + ".weight: " + we.weight() + " (expected: >= 0)");
        }
        if (we.locality() != null && !we.locality().isEmpty()) {
            String[] parts = we.locality().split("/", -1);
            if (parts.length > 3) {
                errs.add(path + ".locality: " + we.locality() + " (expected: region/zone/subzone)");
            } else {
                for (String part : parts) {
                    if (part.isEmpty()) {
                        errs.add(path + ".locality: " + we.locality()
                                + " (expected: region/zone/subzone without empty parts)");
                        break;
                    }
                }
            }
        }
        errs.check(() -> validateLabels(we.labels(), path + ".labels"));
    }

    /** A fully qualified domain name: DNS-1123 labels (either case), no wildcard. */
    private static void validateFqdn(String host, String path) throws ConfigException {
        if (host.contains("*")) {
            throw new ConfigException(path + ": " + host + " (expected: a host name without wildcard)");
        }
        validateWildcardHost(host, path);
    }

    // ---- VirtualService

    private static void validateVirtualService(VirtualService vs) throws ConfigException {
        boolean delegate = vs.hosts().isEmpty();
        if (delegate) {
            // A delegate VirtualService (no hosts): its HTTP routes are merged into a root's delegating route.
            if (!vs.gateways().isEmpty()) {
                throw new ConfigException("spec.gateways: " + vs.gateways() + " (expected: none; delegate virtual "
                        + "service must have no gateways specified)");
            }
            if (!vs.tls().isEmpty()) {
                throw new ConfigException("spec.tls: " + vs.tls().size() + " routes (expected: none; delegate virtual "
                        + "service must have no tls route specified)");
            }
            if (!vs.tcp().isEmpty()) {
                throw new ConfigException("spec.tcp: " + vs.tcp().size() + " routes (expected: none; delegate virtual "
                        + "service must have no tcp route specified)");
            }
        }
        for (int i = 0; i < vs.hosts().size(); i++) {
            String host = vs.hosts().get(i);
            if (host.contains("/")) {
                throw new ConfigException("spec.hosts[" + i + "]: " + host + " (expected: a host without namespace)");
            }
            if (!isIp(host)) {
                validateWildcardHost(host, "spec.hosts[" + i + "]");
            }
        }
        for (int i = 0; i < vs.gateways().size(); i++) {
            validateGatewayName(vs.gateways().get(i), "spec.gateways[" + i + "]");
        }
        if (vs.http().isEmpty() && vs.tcp().isEmpty() && vs.tls().isEmpty()) {
            throw new ConfigException("spec: no http, tcp or tls routes (expected: at least one)");
        }
        for (int i = 0; i < vs.http().size(); i++) {
            VirtualService.HTTPRoute r = vs.http().get(i);
            String path = "spec.http[" + i + "]";
            if (r.delegate() != null) {
                validateDelegate(r, delegate, path);
            } else {
                validateHttpRoute(r, path);
            }
        }
        for (int i = 0; i < vs.tcp().size(); i++) {
            validateL4Destinations(vs.tcp().get(i).route(), "spec.tcp[" + i + "].route");
        }
        for (int i = 0; i < vs.tls().size(); i++) {
            VirtualService.TLSRoute r = vs.tls().get(i);
            if (r.match().isEmpty()) {
                throw new ConfigException("spec.tls[" + i + "].match: [] (expected: at least one match)");
            }
            for (int j = 0; j < r.match().size(); j++) {
                List<String> sni = r.match().get(j).sniHosts();
                if (sni == null || sni.isEmpty()) {
                    throw new ConfigException("spec.tls[" + i + "].match[" + j + "].sniHosts: [] (expected: at least one)");
                }
            }
            validateL4Destinations(r.route(), "spec.tls[" + i + "].route");
        }
    }

    /** A root's delegating route (as istiod: no route or redirect beside it) or a delegate's own (refused). */
    private static void validateDelegate(VirtualService.HTTPRoute r, boolean inDelegate, String path)
            throws ConfigException {
        if (inDelegate) {
            throw new ConfigException(path + ".delegate: " + r.delegate().name() + " (expected: none; delegate HTTP "
                    + "route cannot contain delegate: only one level of delegation)");
        }
        if (r.redirect() != null) {
            throw new ConfigException(path + ".redirect: set with delegate (expected: none; root HTTP route "
                    + (r.name() == null ? "" : r.name() + " ") + "must not specify redirect)");
        }
        if (!r.route().isEmpty()) {
            throw new ConfigException(path + ".route: set with delegate (expected: none; root HTTP route "
                    + (r.name() == null ? "" : r.name() + " ") + "must not specify route)");
        }
        String name = r.delegate().name();
        if (name == null || name.isEmpty()) {
            throw new ConfigException(path + ".delegate.name: missing (expected: the name of a VirtualService "
                    + "without hosts)");
        }
        if (name.length() > 253 || !DNS1123_SUBDOMAIN.matcher(name).matches()) {
            throw new ConfigException(path + ".delegate.name: " + name + " (expected: a DNS-1123 subdomain)");
        }
        String ns = r.delegate().namespace();
        if (ns != null && !ns.isEmpty() && (ns.length() > 63 || !DNS1123_LABEL.matcher(ns).matches())) {
            throw new ConfigException(path + ".delegate.namespace: " + ns + " (expected: a DNS-1123 label)");
        }
        for (int i = 0; i < r.match().size(); i++) {
            validateMatch(r.match().get(i), path + ".match[" + i + "]");
        }
        if (r.timeout() != null) {
            validateDuration(r.timeout(), path + ".timeout", Duration.ZERO);
        }
        if (r.fault() != null) {
            validateFault(r.fault(), path + ".fault");
        }
        if (r.mirror() != null) {
            validateDestination(r.mirror(), path + ".mirror");
        }
        validateHeaders(r.headers(), path + ".headers");
    }

    private static void validateHttpRoute(VirtualService.HTTPRoute r, String path) throws ConfigException {
        int actions = (r.route().isEmpty() ? 0 : 1) + (r.redirect() == null ? 0 : 1)
                + (r.directResponse() == null ? 0 : 1);
        if (actions == 0) {
            throw new ConfigException(path + ": no route, redirect or directResponse (expected: one of them)");
        }
        if (actions > 1) {
            throw new ConfigException(path + ": more than one of route, redirect, directResponse (expected: one)");
        }
        if (r.redirect() != null && r.rewrite() != null) {
            throw new ConfigException(path + ".rewrite: set with redirect (expected: only one of them)");
        }
        for (int i = 0; i < r.match().size(); i++) {
            validateMatch(r.match().get(i), path + ".match[" + i + "]");
        }
        long total = 0;
        for (int i = 0; i < r.route().size(); i++) {
            VirtualService.HTTPRouteDestination d = r.route().get(i);
            String dp = path + ".route[" + i + "]";
            validateDestination(d.destination(), dp + ".destination");
            if (d.weight() != null && d.weight() < 0) {
                throw new ConfigException(dp + ".weight: " + d.weight() + " (expected: >= 0)");
            }
            total += d.weight() == null ? 0 : d.weight();
            validateHeaders(d.headers(), dp + ".headers");
        }
        if (r.route().size() > 1 && total == 0) {
            throw new ConfigException(path + ".route: total weight 0 (expected: > 0 with several destinations)");
        }
        if (r.redirect() != null) {
            VirtualService.HTTPRedirect red = r.redirect();
            if (red.redirectCode() != null && (red.redirectCode() < 300 || red.redirectCode() > 399)) {
                throw new ConfigException(path + ".redirect.redirectCode: " + red.redirectCode()
                        + " (expected: a 3xx code)");
            }
            if (red.port() != null) {
                validatePort(red.port(), path + ".redirect.port");
            }
            if (red.uri() == null && red.authority() == null && red.port() == null && red.scheme() == null
                    && red.derivePort() == null) {
                throw new ConfigException(path + ".redirect: empty (expected: uri, authority, port or scheme)");
            }
        }
        if (r.directResponse() != null) {
            Integer st = r.directResponse().status();
            if (st == null || st < 200 || st > 599) {
                throw new ConfigException(path + ".directResponse.status: " + st + " (expected: 200..599)");
            }
        }
        if (r.rewrite() != null && r.rewrite().uriRegexRewrite() != null) {
            if (r.rewrite().uri() != null) {
                throw new ConfigException(path + ".rewrite: uri and uriRegexRewrite (expected: only one of them)");
            }
            validateRegex(r.rewrite().uriRegexRewrite().match(), path + ".rewrite.uriRegexRewrite.match");
        }
        if (r.timeout() != null) {
            validateDuration(r.timeout(), path + ".timeout", Duration.ZERO);
        }
        if (r.retries() != null) {
            VirtualService.HTTPRetry retry = r.retries();
            if (retry.attempts() != null && retry.attempts() < 0) {
                throw new ConfigException(path + ".retries.attempts: " + retry.attempts() + " (expected: >= 0)");
            }
            if (retry.perTryTimeout() != null) {
                validateDuration(retry.perTryTimeout(), path + ".retries.perTryTimeout", Duration.ofMillis(1));
            }
            if (retry.retryOn() != null) {
                for (String policy : retry.retryOn().split(",")) {
                    String p = policy.trim();
                    if (p.isEmpty() || !(p.chars().allMatch(Character::isDigit) || p.matches("[a-z0-9-]+"))) {
                        throw new ConfigException(path + ".retries.retryOn: " + retry.retryOn()
                                + " (expected: comma-separated Envoy retry policies or status codes)");
                    }
                }
            }
        }
        if (r.fault() != null) {
            validateFault(r.fault(), path + ".fault");
        }
        if (r.mirror() != null) {
            validateDestination(r.mirror(), path + ".mirror");
        }
        if (r.mirrorPercentage() != null) {
            validatePercent(r.mirrorPercentage(), path + ".mirrorPercentage");
        }
        if (r.mirrorPercent() != null && (r.mirrorPercent() < 0 || r.mirrorPercent() > 100)) {
            throw new ConfigException(path + ".mirrorPercent: " + r.mirrorPercent() + " (expected: 0..100)");
        }
        validateHeaders(r.headers(), path + ".headers");
        if (r.corsPolicy() != null) {
            VirtualService.CorsPolicy cors = r.corsPolicy();
            for (int i = 0; i < cors.allowOrigins().size(); i++) {
                validateStringMatch(cors.allowOrigins().get(i), path + ".corsPolicy.allowOrigins[" + i + "]");
            }
            if (cors.maxAge() != null) {
                validateDuration(cors.maxAge(), path + ".corsPolicy.maxAge", Duration.ZERO);
            }
        }
    }

    private static void validateMatch(VirtualService.HTTPMatchRequest m, String path) throws ConfigException {
        validateStringMatch(m.uri(), path + ".uri");
        validateStringMatch(m.scheme(), path + ".scheme");
        validateStringMatch(m.method(), path + ".method");
        validateStringMatch(m.authority(), path + ".authority");
        for (Map.Entry<String, VirtualService.StringMatch> e : m.headers().entrySet()) {
            validateHeaderName(e.getKey(), path + ".headers");
            validateStringMatchAllowEmpty(e.getValue(), path + ".headers." + e.getKey());
        }
        for (Map.Entry<String, VirtualService.StringMatch> e : m.withoutHeaders().entrySet()) {
            validateHeaderName(e.getKey(), path + ".withoutHeaders");
            validateStringMatchAllowEmpty(e.getValue(), path + ".withoutHeaders." + e.getKey());
        }
        for (Map.Entry<String, VirtualService.StringMatch> e : m.queryParams().entrySet()) {
            validateStringMatchAllowEmpty(e.getValue(), path + ".queryParams." + e.getKey());
        }
        if (m.port() != null) {
            validatePort(m.port(), path + ".port");
        }
        validateLabels(m.sourceLabels(), path + ".sourceLabels");
        for (int i = 0; i < m.gateways().size(); i++) {
            validateGatewayName(m.gateways().get(i), path + ".gateways[" + i + "]");
        }
    }

    private static void validateHeaderName(String name, String path) throws ConfigException {
        if (name.startsWith(CLAIM_PREFIX) && name.length() > CLAIM_PREFIX.length()) {
            return; // routing on a JWT claim (claim names keep their case)
        }
        if (name.isEmpty() || !name.equals(name.toLowerCase(java.util.Locale.ROOT))) {
            throw new ConfigException(path + ": " + name + " (expected: a lower-case header name)");
        }
    }

    private static void validateStringMatchAllowEmpty(VirtualService.StringMatch m, String path)
            throws ConfigException {
        if (m == null || (m.exact() == null && m.prefix() == null && m.regex() == null)) {
            return; // presence match
        }
        validateStringMatch(m, path);
    }

    private static void validateStringMatch(VirtualService.StringMatch m, String path) throws ConfigException {
        if (m == null) {
            return;
        }
        int n = (m.exact() == null ? 0 : 1) + (m.prefix() == null ? 0 : 1) + (m.regex() == null ? 0 : 1);
        if (n != 1) {
            throw new ConfigException(path + ": " + n + " of exact, prefix, regex (expected: exactly one)");
        }
        if (m.regex() != null) {
            validateRegex(m.regex(), path + ".regex");
        }
    }

    private static void validateRegex(String regex, String path) throws ConfigException {
        if (regex == null || regex.isEmpty()) {
            throw new ConfigException(path + ": \"\" (expected: a non-empty RE2 regex)");
        }
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new ConfigException(path + ": " + regex + " (expected: a valid RE2 regex: " + e.getDescription() + ")");
        }
    }

    private static void validateDestination(VirtualService.Destination d, String path) throws ConfigException {
        if (d == null) {
            throw new ConfigException(path + ": missing (expected: a destination)");
        }
        if (d.host() == null || d.host().isEmpty()) {
            throw new ConfigException(path + ".host: missing (expected: a service host)");
        }
        if (d.host().startsWith("*")) {
            throw new ConfigException(path + ".host: " + d.host() + " (expected: a host without wildcard)");
        }
        validateWildcardHost(d.host(), path + ".host");
        if (d.subset() != null && !DNS1123_LABEL.matcher(d.subset()).matches()) {
            throw new ConfigException(path + ".subset: " + d.subset() + " (expected: a DNS-1123 label)");
        }
        if (d.port() != null && d.port().number() != null) {
            validatePort(d.port().number(), path + ".port.number");
        }
    }

    private static void validateL4Destinations(List<VirtualService.RouteDestination> route, String path)
            throws ConfigException {
        if (route.isEmpty()) {
            throw new ConfigException(path + ": [] (expected: at least one destination)");
        }
        for (int i = 0; i < route.size(); i++) {
            validateDestination(route.get(i).destination(), path + "[" + i + "].destination");
            Integer w = route.get(i).weight();
            if (w != null && w < 0) {
                throw new ConfigException(path + "[" + i + "].weight: " + w + " (expected: >= 0)");
            }
        }
    }

    private static void validateFault(VirtualService.HTTPFaultInjection f, String path) throws ConfigException {
        if (f.delay() == null && f.abort() == null) {
            throw new ConfigException(path + ": empty (expected: delay or abort)");
        }
        if (f.delay() != null) {
            if (f.delay().fixedDelay() == null) {
                throw new ConfigException(path + ".delay.fixedDelay: missing (expected: a duration)");
            }
            validateDuration(f.delay().fixedDelay(), path + ".delay.fixedDelay", Duration.ofMillis(1));
            validatePercent(f.delay().percentage(), path + ".delay.percentage");
            if (f.delay().percent() != null && (f.delay().percent() < 0 || f.delay().percent() > 100)) {
                throw new ConfigException(path + ".delay.percent: " + f.delay().percent() + " (expected: 0..100)");
            }
        }
        if (f.abort() != null) {
            VirtualService.HTTPFaultInjection.Abort a = f.abort();
            if (a.httpStatus() == null && a.grpcStatus() == null && a.http2Error() == null) {
                throw new ConfigException(path + ".abort: no httpStatus, grpcStatus or http2Error (expected: one)");
            }
            if (a.httpStatus() != null && (a.httpStatus() < 200 || a.httpStatus() > 599)) {
                throw new ConfigException(path + ".abort.httpStatus: " + a.httpStatus() + " (expected: 200..599)");
            }
            validatePercent(a.percentage(), path + ".abort.percentage");
        }
    }

    private static void validatePercent(VirtualService.Percent p, String path) throws ConfigException {
        if (p != null && p.value() != null && (p.value() < 0 || p.value() > 100 || p.value().isNaN())) {
            throw new ConfigException(path + ".value: " + p.value() + " (expected: 0..100)");
        }
    }

    private static void validateHeaders(VirtualService.Headers h, String path) throws ConfigException {
        if (h == null) {
            return;
        }
        for (VirtualService.HeaderOperations op : new VirtualService.HeaderOperations[] {h.request(), h.response()}) {
            if (op == null) {
                continue;
            }
            String p = path + (op == h.request() ? ".request" : ".response");
            for (String name : op.set().keySet()) {
                validateHeaderOpName(name, p + ".set");
            }
            for (String name : op.add().keySet()) {
                validateHeaderOpName(name, p + ".add");
            }
            for (String name : op.remove()) {
                validateHeaderOpName(name, p + ".remove");
            }
        }
    }

    private static void validateHeaderOpName(String name, String path) throws ConfigException {
        if (name.isEmpty() || name.equalsIgnoreCase("host") || name.startsWith(":")) {
            throw new ConfigException(path + ": " + name + " (expected: a header other than Host and pseudo-headers)");
        }
    }

    // ---- DestinationRule

    private static void validateDestinationRule(DestinationRule dr) throws ConfigException {
        if (dr.host() == null || dr.host().isEmpty()) {
            throw new ConfigException("spec.host: missing (expected: a service host)");
        }
        validateWildcardHost(dr.host(), "spec.host");
        validateTrafficPolicy(dr.trafficPolicy(), "spec.trafficPolicy", true);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < dr.subsets().size(); i++) {
            DestinationRule.Subset s = dr.subsets().get(i);
            String path = "spec.subsets[" + i + "]";
            if (s.name() == null || s.name().isEmpty()) {
                throw new ConfigException(path + ".name: missing (expected: a subset name)");
            }
            if (!DNS1123_LABEL.matcher(s.name()).matches()) {
                throw new ConfigException(path + ".name: " + s.name() + " (expected: a DNS-1123 label)");
            }
            if (!names.add(s.name())) {
                throw new ConfigException(path + ".name: " + s.name() + " (expected: a name unique in the rule)");
            }
            validateLabels(s.labels(), path + ".labels");
            validateTrafficPolicy(s.trafficPolicy(), path + ".trafficPolicy", true);
        }
    }

    private static void validateTrafficPolicy(DestinationRule.TrafficPolicy tp, String path, boolean allowPortLevel)
            throws ConfigException {
        if (tp == null) {
            return;
        }
        validateLoadBalancer(tp.loadBalancer(), path + ".loadBalancer");
        validateConnectionPool(tp.connectionPool(), path + ".connectionPool");
        validateOutlier(tp.outlierDetection(), path + ".outlierDetection");
        validateClientTls(tp.tls(), path + ".tls");
        for (int i = 0; i < tp.portLevelSettings().size(); i++) {
            DestinationRule.PortTrafficPolicy p = tp.portLevelSettings().get(i);
            String pp = path + ".portLevelSettings[" + i + "]";
            if (p.port() == null || p.port().number() == null) {
                throw new ConfigException(pp + ".port: missing (expected: a port number)");
            }
            validatePort(p.port().number(), pp + ".port.number");
            validateLoadBalancer(p.loadBalancer(), pp + ".loadBalancer");
            validateConnectionPool(p.connectionPool(), pp + ".connectionPool");
            validateOutlier(p.outlierDetection(), pp + ".outlierDetection");
            validateClientTls(p.tls(), pp + ".tls");
        }
    }

    private static void validateLoadBalancer(DestinationRule.LoadBalancerSettings lb, String path)
            throws ConfigException {
        if (lb == null) {
            return;
        }
        if (lb.simple() != null && lb.consistentHash() != null) {
            throw new ConfigException(path + ": simple and consistentHash (expected: only one of them)");
        }
        if (lb.simple() != null && !LB_SIMPLE.contains(lb.simple())) {
            throw new ConfigException(path + ".simple: " + lb.simple() + " (expected: one of " + sorted(LB_SIMPLE) + ")");
        }
        if (lb.warmupDurationSecs() != null) {
            validateDuration(lb.warmupDurationSecs(), path + ".warmupDurationSecs", Duration.ofMillis(1));
        }
        if (lb.warmup() != null) {
            if (lb.warmup().duration() == null) {
                throw new ConfigException(path + ".warmup.duration: missing (expected: a duration such as 60s)");
            }
            validateDuration(lb.warmup().duration(), path + ".warmup.duration", Duration.ofMillis(1));
            Double min = lb.warmup().minimumPercent();
            if (min != null && (min < 0 || min > 100)) {
                throw new ConfigException(path + ".warmup.minimumPercent: " + min + " (expected: 0..100)");
            }
            Double aggression = lb.warmup().aggression();
            if (aggression != null && aggression < 1) {
                throw new ConfigException(path + ".warmup.aggression: " + aggression + " (expected: >= 1)");
            }
        }
        DestinationRule.ConsistentHashLB ch = lb.consistentHash();
        if (ch != null) {
            int keys = (ch.httpHeaderName() == null ? 0 : 1) + (ch.httpCookie() == null ? 0 : 1)
                    + (Boolean.TRUE.equals(ch.useSourceIp()) ? 1 : 0) + (ch.httpQueryParameterName() == null ? 0 : 1);
            if (keys != 1) {
                throw new ConfigException(path + ".consistentHash: " + keys + " hash keys (expected: exactly one of "
                        + "httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName)");
            }
            if (ch.httpCookie() != null) {
                if (ch.httpCookie().name() == null || ch.httpCookie().name().isEmpty()) {
                    throw new ConfigException(path + ".consistentHash.httpCookie.name: missing (expected: a cookie name)");
                }
                if (ch.httpCookie().ttl() != null) {
                    validateDuration(ch.httpCookie().ttl(), path + ".consistentHash.httpCookie.ttl", Duration.ZERO);
                }
            }
        }
    }

    private static void validateConnectionPool(DestinationRule.ConnectionPoolSettings cp, String path)
            throws ConfigException {
        if (cp == null) {
            return;
        }
        if (cp.tcp() != null) {
            DestinationRule.ConnectionPoolSettings.TcpKeepalive ka = cp.tcp().tcpKeepalive();
            if (ka != null) {
                nonNegative(ka.probes(), path + ".tcp.tcpKeepalive.probes");
                if (ka.time() != null) {
                    validateDuration(ka.time(), path + ".tcp.tcpKeepalive.time", Duration.ofSeconds(1));
                }
                if (ka.interval() != null) {
                    validateDuration(ka.interval(), path + ".tcp.tcpKeepalive.interval", Duration.ofSeconds(1));
                }
            }
            nonNegative(cp.tcp().maxConnections(), path + ".tcp.maxConnections");
            if (cp.tcp().connectTimeout() != null) {
                validateDuration(cp.tcp().connectTimeout(), path + ".tcp.connectTimeout", Duration.ofMillis(1));
            }
        }
        if (cp.http() != null) {
            nonNegative(cp.http().http1MaxPendingRequests(), path + ".http.http1MaxPendingRequests");
            nonNegative(cp.http().http2MaxRequests(), path + ".http.http2MaxRequests");
            nonNegative(cp.http().maxRequestsPerConnection(), path + ".http.maxRequestsPerConnection");
            nonNegative(cp.http().maxRetries(), path + ".http.maxRetries");
            if (cp.http().idleTimeout() != null) {
                validateDuration(cp.http().idleTimeout(), path + ".http.idleTimeout", Duration.ofMillis(1));
            }
            if (cp.http().http2KeepAlive() != null) {
                if (cp.http().http2KeepAlive().interval() != null) {
                    validateDuration(cp.http().http2KeepAlive().interval(), path + ".http.http2KeepAlive.interval",
                            Duration.ofMillis(1));
                }
                if (cp.http().http2KeepAlive().timeout() != null) {
                    validateDuration(cp.http().http2KeepAlive().timeout(), path + ".http.http2KeepAlive.timeout",
                            Duration.ofMillis(1));
                }
            }
        }
    }

    private static void validateOutlier(DestinationRule.OutlierDetection od, String path) throws ConfigException {
        if (od == null) {
            return;
        }
        nonNegative(od.consecutiveErrors(), path + ".consecutiveErrors");
        nonNegative(od.consecutive5xxErrors(), path + ".consecutive5xxErrors");
        nonNegative(od.consecutiveGatewayErrors(), path + ".consecutiveGatewayErrors");
        if (od.interval() != null) {
            validateDuration(od.interval(), path + ".interval", Duration.ofMillis(1));
        }
        if (od.baseEjectionTime() != null) {
            validateDuration(od.baseEjectionTime(), path + ".baseEjectionTime", Duration.ofMillis(1));
        }
        if (od.maxEjectionPercent() != null && (od.maxEjectionPercent() < 0 || od.maxEjectionPercent() > 100)) {
            throw new ConfigException(path + ".maxEjectionPercent: " + od.maxEjectionPercent() + " (expected: 0..100)");
        }
        if (od.minHealthPercent() != null && (od.minHealthPercent() < 0 || od.minHealthPercent() > 100)) {
            throw new ConfigException(path + ".minHealthPercent: " + od.minHealthPercent() + " (expected: 0..100)");
        }
    }

    private static void validateClientTls(DestinationRule.ClientTLSSettings tls, String path) throws ConfigException {
        if (tls == null) {
            return;
        }
        String mode = tls.mode() == null ? "DISABLE" : tls.mode();
        if (!CLIENT_TLS_MODES.contains(mode)) {
            throw new ConfigException(path + ".mode: " + mode + " (expected: one of " + sorted(CLIENT_TLS_MODES) + ")");
        }
        if ("ISTIO_MUTUAL".equals(mode) && (tls.clientCertificate() != null || tls.privateKey() != null
                || tls.caCertificates() != null || tls.credentialName() != null)) {
            throw new ConfigException(path + ": mode ISTIO_MUTUAL with clientCertificate, privateKey, caCertificates "
                    + "or credentialName (expected: none of them; the mesh certificate is used)");
        }
        if ("MUTUAL".equals(mode) && tls.credentialName() == null
                && (tls.clientCertificate() == null || tls.privateKey() == null)) {
            throw new ConfigException(path + ": mode MUTUAL without clientCertificate and privateKey "
                    + "(expected: both, or credentialName)");
        }
    }

    // ---- Gateway / Sidecar

    private static void validateGateway(Gateway gw) throws ConfigException {
        if (gw.servers().isEmpty()) {
            throw new ConfigException("spec.servers: [] (expected: at least one server)");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < gw.servers().size(); i++) {
            Gateway.Server s = gw.servers().get(i);
            String path = "spec.servers[" + i + "]";
            if (s.port() == null) {
                throw new ConfigException(path + ".port: missing (expected: a port)");
            }
            validatePort(s.port().number(), path + ".port.number");
            if (s.port().protocol() == null || s.port().protocol().isEmpty()) {
                // Istio: a gateway server's protocol is not sniffed ("invalid protocol \"\"").
                throw new ConfigException(path + ".port.protocol: missing (expected: one of " + sorted(PROTOCOLS) + ")");
            }
            validateProtocol(s.port().protocol(), path + ".port.protocol");
            if (s.name() != null && !names.add(s.name())) {
                throw new ConfigException(path + ".name: " + s.name() + " (expected: a name unique in the gateway)");
            }
            if (s.hosts().isEmpty()) {
                throw new ConfigException(path + ".hosts: [] (expected: at least one host)");
            }
            for (int j = 0; j < s.hosts().size(); j++) {
                String h = s.hosts().get(j);
                int slash = h.indexOf('/');
                if (slash >= 0) {
                    String ns = h.substring(0, slash);
                    if (!ns.equals("*") && !ns.equals(".") && !DNS1123_LABEL.matcher(ns).matches()) {
                        throw new ConfigException(path + ".hosts[" + j + "]: " + h
                                + " (expected: namespace/host with a valid namespace, '.' or '*')");
                    }
                    h = h.substring(slash + 1);
                }
                validateWildcardHost(h, path + ".hosts[" + j + "]");
            }
            String protocol = s.port().protocol().toUpperCase(java.util.Locale.ROOT);
            Gateway.ServerTLSSettings tls = s.tls();
            boolean tlsProtocol = protocol.equals("HTTPS") || protocol.equals("TLS");
            if (tlsProtocol && tls == null) {
                throw new ConfigException(path + ".tls: missing (expected: TLS settings for protocol " + protocol + ")");
            }
            if (tls != null && !Boolean.TRUE.equals(tls.httpsRedirect())) {
                String mode = tls.mode() == null ? "PASSTHROUGH" : tls.mode();
                if (!SERVER_TLS_MODES.contains(mode)) {
                    throw new ConfigException(path + ".tls.mode: " + mode + " (expected: one of "
                            + sorted(SERVER_TLS_MODES) + ")");
                }
                if ((mode.equals("SIMPLE") || mode.equals("MUTUAL")) && tls.credentialName() == null
                        && (tls.credentialNames() == null || tls.credentialNames().isEmpty())
                        && (tls.serverCertificate() == null || tls.privateKey() == null)) {
                    throw new ConfigException(path + ".tls: mode " + mode + " without serverCertificate and "
                            + "privateKey (expected: both, or credentialName)");
                }
                if (mode.equals("MUTUAL") && tls.credentialName() == null && tls.caCertificates() == null) {
                    throw new ConfigException(path + ".tls.caCertificates: missing (expected: set with mode MUTUAL)");
                }
                if (mode.equals("ISTIO_MUTUAL") && (tls.serverCertificate() != null || tls.privateKey() != null
                        || tls.caCertificates() != null || tls.credentialName() != null)) {
                    throw new ConfigException(path + ".tls: mode ISTIO_MUTUAL with serverCertificate, privateKey, "
                            + "caCertificates or credentialName (expected: none of them; the gateway's mesh "
                            + "certificate is used)");
                }
                int min = tlsVersion(tls.minProtocolVersion(), path + ".tls.minProtocolVersion");
                int max = tlsVersion(tls.maxProtocolVersion(), path + ".tls.maxProtocolVersion");
                if (min > 0 && max > 0 && min > max) {
                    throw new ConfigException(path + ".tls.minProtocolVersion: " + tls.minProtocolVersion()
                            + " (expected: <= maxProtocolVersion " + tls.maxProtocolVersion() + ")");
                }
                if (protocol.equals("HTTPS") && mode.equals("PASSTHROUGH")) {
                    throw new ConfigException(path + ".tls.mode: PASSTHROUGH (expected: SIMPLE or MUTUAL for HTTPS; "
                            + "use protocol TLS for passthrough)");
                }
            }
        }
    }

    private static final List<String> TLS_VERSIONS = List.of("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3");

    /** Returns the rank of a Gateway TLS version (0 for TLS_AUTO or unset); throws for an unknown one. */
    private static int tlsVersion(String v, String path) throws ConfigException {
        if (v == null) {
            return 0;
        }
        int i = TLS_VERSIONS.indexOf(v);
        if (i < 0) {
            throw new ConfigException(path + ": " + v + " (expected: one of " + String.join(", ", TLS_VERSIONS) + ")");
        }
        return i;
    }

    private static final Set<String> CAPTURE_MODES = Set.of("DEFAULT", "IPTABLES", "NONE");

    /**
     * As istiod's {@code validateSidecarIngress*}: a port (number, protocol) unique among the ingress listeners, an IP
     * {@code bind}, a capture mode, a {@code defaultEndpoint} of {@code 127.0.0.1:PORT}, {@code [::1]:PORT},
     * {@code 0.0.0.0:PORT}, {@code [::]:PORT} or {@code unix:///path}, and {@code tls} SIMPLE or MUTUAL with files.
     */
    private static void validateSidecarIngress(Sidecar sc) throws ConfigException {
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < sc.ingress().size(); i++) {
            Sidecar.IstioIngressListener in = sc.ingress().get(i);
            String path = "spec.ingress[" + i + "]";
            if (in == null) {
                throw new ConfigException(path + ": null (expected: an ingress listener)");
            }
            if (in.port() == null) {
                throw new ConfigException(path + ".port: missing (expected: a port; sidecar: port is required for "
                        + "ingress listeners)");
            }
            validatePort(in.port().number(), path + ".port.number");
            if (in.port().protocol() == null || in.port().protocol().isEmpty()) {
                throw new ConfigException(path + ".port.protocol: missing (expected: one of " + sorted(PROTOCOLS) + ")");
            }
            validateProtocol(in.port().protocol(), path + ".port.protocol");
            if (!ports.add(in.port().number())) {
                throw new ConfigException(path + ".port.number: " + in.port().number() + " (expected: a port unique "
                        + "among the ingress listeners; sidecar: ports on IP bound listeners must be unique)");
            }
            if (in.bind() != null && !in.bind().isEmpty() && !isIp(in.bind())) {
                throw new ConfigException(path + ".bind: " + in.bind() + " (expected: an IP address)");
            }
            if (in.captureMode() != null && !CAPTURE_MODES.contains(in.captureMode())) {
                throw new ConfigException(path + ".captureMode: " + in.captureMode() + " (expected: one of "
                        + sorted(CAPTURE_MODES) + ")");
            }
            String ep = in.defaultEndpoint();
            if (ep != null && !ep.isEmpty()) {
                if (ep.startsWith("unix://")) {
                    String uds = ep.substring("unix://".length());
                    if (!(uds.startsWith("@") && uds.length() > 1) && !(uds.startsWith("/") && !uds.endsWith("/"))) {
                        throw new ConfigException(path + ".defaultEndpoint: " + ep + " (expected: unix:///absolute/path "
                                + "or unix://@abstract)");
                    }
                } else {
                    int colon = ep.lastIndexOf(':');
                    String ip = colon < 0 ? "" : ep.substring(0, colon);
                    String port = colon < 0 ? "" : ep.substring(colon + 1);
                    if (!Set.of("127.0.0.1", "0.0.0.0", "[::1]", "[::]").contains(ip) || !port.matches("[0-9]{1,5}")
                            || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                        throw new ConfigException(path + ".defaultEndpoint: " + ep + " (expected: 127.0.0.1:PORT, "
                                + "[::1]:PORT, 0.0.0.0:PORT, [::]:PORT or unix:///path)");
                    }
                }
            }
            Gateway.ServerTLSSettings tls = in.tls();
            if (tls != null) {
                String mode = tls.mode() == null ? "PASSTHROUGH" : tls.mode();
                if (!mode.equals("SIMPLE") && !mode.equals("MUTUAL")) {
                    throw new ConfigException(path + ".tls.mode: " + mode + " (expected: SIMPLE or MUTUAL)");
                }
                if (tls.credentialName() != null || (tls.credentialNames() != null && !tls.credentialNames().isEmpty())) {
                    throw new ConfigException(path + ".tls.credentialName: " + tls.credentialName() + " (expected: "
                            + "serverCertificate and privateKey files; sidecar: credentialName is not currently "
                            + "supported)");
                }
                if (tls.serverCertificate() == null || tls.privateKey() == null) {
                    throw new ConfigException(path + ".tls: mode " + mode + " without serverCertificate and privateKey "
                            + "(expected: both)");
                }
                if (mode.equals("MUTUAL") && tls.caCertificates() == null) {
                    throw new ConfigException(path + ".tls.caCertificates: missing (expected: set with mode MUTUAL)");
                }
                if (Boolean.TRUE.equals(tls.httpsRedirect())) {
                    throw new ConfigException(path + ".tls.httpsRedirect: true (expected: unset on a sidecar)");
                }
            }
        }
    }

    private static void validateSidecar(Sidecar sc) throws ConfigException {
        validateSidecarIngress(sc);
        for (int i = 0; i < sc.egress().size(); i++) {
            Sidecar.IstioEgressListener e = sc.egress().get(i);
            String path = "spec.egress[" + i + "]";
            if (e.hosts().isEmpty()) {
                throw new ConfigException(path + ".hosts: [] (expected: at least one namespace/host)");
            }
            for (int j = 0; j < e.hosts().size(); j++) {
                String h = e.hosts().get(j);
                int slash = h.indexOf('/');
                if (slash <= 0) {
                    throw new ConfigException(path + ".hosts[" + j + "]: " + h + " (expected: namespace/dnsName)");
                }
                String ns = h.substring(0, slash);
                if (!ns.equals("*") && !ns.equals(".") && !ns.equals("~") && !DNS1123_LABEL.matcher(ns).matches()) {
                    throw new ConfigException(path + ".hosts[" + j + "]: " + h + " (expected: a valid namespace, "
                            + "'.', '~' or '*')");
                }
                validateWildcardHost(h.substring(slash + 1), path + ".hosts[" + j + "]");
            }
            if (e.port() != null) {
                validatePort(e.port().number(), path + ".port.number");
            }
        }
        if (sc.outboundTrafficPolicy() != null && sc.outboundTrafficPolicy().mode() != null
                && !Set.of("REGISTRY_ONLY", "ALLOW_ANY").contains(sc.outboundTrafficPolicy().mode())) {
            throw new ConfigException("spec.outboundTrafficPolicy.mode: " + sc.outboundTrafficPolicy().mode()
                    + " (expected: REGISTRY_ONLY or ALLOW_ANY)");
        }
    }

    // ---- PeerAuthentication

    private static final Set<String> MTLS_MODES = Set.of("UNSET", "DISABLE", "PERMISSIVE", "STRICT");

    /**
     * As istiod's {@code ValidatePeerAuthentication}: modes, port-level only with a selector, ports 1..65535,
     * selector labels; every problem of the object is reported.
     */
    private static void validatePeerAuthentication(PeerAuthentication pa) throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        if (pa.selector() != null) {
            errs.check(() -> validateLabels(pa.selector().matchLabels(), "spec.selector.matchLabels"));
        }
        errs.check(() -> validateMtlsMode(pa.mtls(), "spec.mtls.mode"));
        if (pa.portLevelMtls() != null) {
            if (pa.portLevelMtls().isEmpty()) {
                errs.add("spec.portLevelMtls: {} (expected: at least one port when set)");
            } else if (!pa.hasSelector()) {
                errs.add("spec.portLevelMtls: set without spec.selector.matchLabels (expected: a "
                        + "workload selector; mesh and namespace policies have no port-level mTLS)");
            }
            for (Map.Entry<Integer, PeerAuthentication.MutualTLS> e : pa.portLevelMtls().entrySet()) {
                String path = "spec.portLevelMtls." + e.getKey();
                errs.check(() -> validatePort(e.getKey(), path));
                errs.check(() -> {
                    if (e.getValue() == null) {
                        throw new ConfigException(path + ": null (expected: a mapping with mode)");
                    }
                    validateMtlsMode(e.getValue(), path + ".mode");
                });
            }
        }
        errs.throwIfAny();
    }

    private static void validateMtlsMode(PeerAuthentication.MutualTLS mtls, String path) throws ConfigException {
        if (mtls != null && mtls.mode() != null && !MTLS_MODES.contains(mtls.mode())) {
            throw new ConfigException(path + ": " + mtls.mode() + " (expected: one of " + sorted(MTLS_MODES) + ")");
        }
    }

    // ---- shared

    /** Parses an Istio/Go duration such as {@code 1.5s}, {@code 300ms} or {@code 1m30s}; throws below {@code min}. */
    public static Duration parseDuration(String text, String path, Duration min) throws ConfigException {
        return validateDuration(text, path, min);
    }

    private static Duration validateDuration(String text, String path, Duration min) throws ConfigException {
        if (text == null || text.isEmpty()) {
            throw new ConfigException(path + ": \"\" (expected: a duration such as 1s or 500ms)");
        }
        Matcher m = DURATION_PART.matcher(text);
        int pos = 0;
        double nanos = 0;
        while (pos < text.length()) {
            if (!m.find(pos) || m.start() != pos) {
                throw new ConfigException(path + ": " + text + " (expected: a duration such as 1s or 500ms)");
            }
            double v = Double.parseDouble(m.group(1));
            nanos += v * switch (m.group(2)) {
                case "ns" -> 1d;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
            };
            pos = m.end();
        }
        Duration d = Duration.ofNanos((long) nanos);
        if (d.compareTo(min) < 0) {
            throw new ConfigException(path + ": " + text + " (expected: >= " + min.toMillis() + "ms)");
        }
        return d;
    }

    private static void validatePort(Integer port, String path) throws ConfigException {
        if (port == null || port < 1 || port > 65535) {
            throw new ConfigException(path + ": " + port + " (expected: 1..65535)");
        }
    }

    private static void validateProtocol(String protocol, String path) throws ConfigException {
        if (protocol == null || protocol.isEmpty()) {
            return; // sniffed
        }
        if (!PROTOCOLS.contains(protocol.toUpperCase(java.util.Locale.ROOT))) {
            throw new ConfigException(path + ": " + protocol + " (expected: one of " + sorted(PROTOCOLS) + ")");
        }
    }

    static void validateLabels(Map<String, String> labels, String path) throws ConfigException {
        for (Map.Entry<String, String> e : labels.entrySet()) {
            String key = e.getKey();
            String name = key.contains("/") ? key.substring(key.indexOf('/') + 1) : key;
            if (name.isEmpty() || name.length() > 63 || !name.matches("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")) {
                throw new ConfigException(path + ": " + key + " (expected: a Kubernetes label key)");
            }
            String v = e.getValue();
            if (v.length() > 63 || !(v.isEmpty() || v.matches("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"))) {
                throw new ConfigException(path + "." + key + ": " + v + " (expected: a Kubernetes label value)");
            }
        }
    }

    private static void validateGatewayName(String gw, String path) throws ConfigException {
        if (gw.equals("mesh")) {
            return;
        }
        String name = gw.contains("/") ? gw.substring(gw.indexOf('/') + 1) : gw;
        String ns = gw.contains("/") ? gw.substring(0, gw.indexOf('/')) : null;
        if (!DNS1123_SUBDOMAIN.matcher(name).matches() || (ns != null && !DNS1123_LABEL.matcher(ns).matches())) {
            throw new ConfigException(path + ": " + gw + " (expected: mesh, name or namespace/name of a Gateway)");
        }
    }

    /** A DNS label of a host: Istio takes upper-case letters in hosts. */
    private static final Pattern HOST_LABEL = Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?");

    /**
     * Checks a host as istiod's {@code ValidateWildcardDomain}: {@code *}, or DNS labels (either case) of which the
     * first may start with {@code *} ({@code *.example.com}; {@code *x} too, which ServiceEntry warns about).
     */
    static void validateWildcardHost(String host, String path) throws ConfigException {
        if (host == null || host.isEmpty()) {
            throw new ConfigException(path + ": \"\" (expected: a host name)");
        }
        if (host.equals("*")) {
            return;
        }
        if (host.length() > 255) {
            throw new ConfigException(path + ": " + host + " (expected: a domain name of at most 255 characters)");
        }
        String[] labels = host.split("\\.", -1);
        for (int i = 0; i < labels.length; i++) {
            String label = i == 0 && labels[0].startsWith("*") ? labels[0].substring(1) : labels[i];
            if (i == 0 && label.isEmpty() && labels[0].equals("*")) {
                continue;
            }
            if (label.length() > 63 || !HOST_LABEL.matcher(label).matches()) {
                throw new ConfigException(path + ": " + host
                        + " (expected: a DNS name of labels, optionally starting with *.)");
            }
        }
    }

    private static void nonNegative(Integer v, String path) throws ConfigException {
        if (v != null && v < 0) {
            throw new ConfigException(path + ": " + v + " (expected: >= 0)");
        }
    }

    private static boolean isIp(String s) {
        if (s == null || s.isEmpty()) {
            return false;
        }
        if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            for (String p : s.split("\\.")) {
                if (Integer.parseInt(p) > 255) {
                    return false;
                }
            }
            return true;
        }
        if (s.indexOf(':') >= 0 && s.matches("[0-9a-fA-F:.]+")) {
            try {
                InetAddress.getByName(s); // a literal: no lookup is made
                return true;
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    private static String sorted(Set<String> set) {
        return String.join(", ", new java.util.TreeSet<>(set));
    }
}

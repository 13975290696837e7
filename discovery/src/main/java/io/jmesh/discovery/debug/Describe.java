package io.jmesh.discovery.debug;

import io.jmesh.discovery.config.AuthorizationPolicy;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.discovery.xds.EffectivePolicies;
import io.jmesh.discovery.xds.ProxyNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The facts of {@code /debug/describe} ({@code jmesh x describe}, as {@code istioctl x describe} shows them): for a
 * workload (a connected proxy, "pod") or a service, the services and ports, the DestinationRule with the subsets
 * that match the workload, the VirtualServices that route to the service with their destinations and matches,
 * the effective PeerAuthentication mode with the policies it comes from, the AuthorizationPolicies that select the
 * workload, and the ingress gateways that expose the service. Plain maps and lists, for JSON; computed from one
 * snapshot on the monitoring thread.
 */
final class Describe {

    private Describe() {}

    /** The facts about workload {@code proxy}. */
    static Map<String, Object> pod(ProxyNode proxy, MeshSnapshot snapshot, List<ProxyNode> connected) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> pod = new LinkedHashMap<>();
        pod.put("name", proxy.name());
        pod.put("namespace", proxy.namespace());
        pod.put("nodeId", proxy.id());
        pod.put("type", proxy.type().name());
        pod.put("ip", proxy.ip());
        pod.put("labels", proxy.labels());
        Set<Integer> ports = new java.util.TreeSet<>();
        Set<String> hosts = new LinkedHashSet<>();
        for (Endpoint e : EffectivePolicies.ownEndpoints(snapshot, proxy)) {
            ports.add(e.port());
            hosts.add(e.serviceHost());
        }
        pod.put("ports", ports);
        out.put("pod", pod);
        List<Map<String, Object>> services = new ArrayList<>();
        for (String host : hosts) {
            Service s = snapshot.service(host);
            if (s != null) {
                services.add(service(s, snapshot, proxy.namespace(), proxy.labels(), connected));
            }
        }
        out.put("services", services);
        out.put("peerAuthentication", peerAuthentication(snapshot, proxy.namespace(), proxy.labels()));
        out.put("authorizationPolicies", authorizationPolicies(snapshot, proxy));
        return out;
    }

    /** The facts about service {@code s} as seen from {@code namespace}, no workload in particular. */
    static Map<String, Object> service(Service s, MeshSnapshot snapshot, List<ProxyNode> connected) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("services", List.of(service(s, snapshot, s.namespace(), null, connected)));
        return out;
    }

    private static Map<String, Object> service(Service s, MeshSnapshot snapshot, String fromNamespace,
                                               Map<String, String> podLabels, List<ProxyNode> connected) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hostname", s.hostname());
        m.put("namespace", s.namespace());
        m.put("registry", s.registry());
        List<Map<String, Object>> ports = new ArrayList<>();
        for (ServicePort p : s.ports()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("name", p.name());
            pm.put("number", p.number());
            pm.put("protocol", p.protocol());
            pm.put("targetPort", p.targetPort());
            ports.add(pm);
        }
        m.put("ports", ports);
        Config<DestinationRule> dr = snapshot.destinationRule(s.hostname(), fromNamespace);
        if (dr != null) {
            m.put("destinationRule", destinationRule(dr, podLabels));
        }
        List<Map<String, Object>> vss = new ArrayList<>();
        List<Map<String, Object>> ingress = new ArrayList<>();
        for (Config<VirtualService> vs : snapshot.virtualServices()) {
            Map<String, Object> routes = routes(vs, s.hostname());
            if (routes == null) {
                continue;
            }
            List<String> gateways = vs.spec().gateways() == null || vs.spec().gateways().isEmpty()
                    ? List.of("mesh") : vs.spec().gateways();
            if (gateways.contains("mesh")) {
                vss.add(routes);
            }
            for (String g : gateways) {
                if (g.equals("mesh")) {
                    continue;
                }
                Config<Gateway> gw = gateway(snapshot, g, vs.meta().namespace());
                if (gw == null) {
                    continue;
                }
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("gateway", gw.meta().name() + "." + gw.meta().namespace());
                List<Map<String, Object>> servers = new ArrayList<>();
                for (Gateway.Server srv : gw.spec().servers()) {
                    Map<String, Object> sm = new LinkedHashMap<>();
                    sm.put("port", srv.port() == null ? null : srv.port().number());
                    sm.put("protocol", srv.port() == null ? null : srv.port().protocol());
                    sm.put("hosts", srv.hosts());
                    servers.add(sm);
                }
                e.put("servers", servers);
                List<String> proxies = new ArrayList<>();
                for (ProxyNode p : connected) {
                    if (p.type() == ProxyNode.Type.ROUTER && gw.spec().selector() != null
                            && Labels.selects(gw.spec().selector(), p.labels())) {
                        proxies.add(p.name() + "." + p.namespace());
                    }
                }
                e.put("gatewayProxies", proxies);
                e.put("virtualService", routes.get("name"));
                e.put("matches", routes.get("matches"));
                ingress.add(e);
            }
        }
        m.put("virtualServices", vss);
        m.put("ingress", ingress);
        return m;
    }

    private static Map<String, Object> destinationRule(Config<DestinationRule> dr, Map<String, String> podLabels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", dr.meta().name());
        m.put("namespace", dr.meta().namespace());
        m.put("host", dr.spec().host());
        List<String> matching = new ArrayList<>();
        List<String> other = new ArrayList<>();
        for (DestinationRule.Subset sub : dr.spec().subsets()) {
            if (podLabels != null && Labels.selects(sub.labels(), podLabels)) {
                matching.add(sub.name());
            } else {
                other.add(sub.name());
            }
        }
        m.put("matchingSubsets", matching);
        m.put("nonMatchingSubsets", other);
        DestinationRule.TrafficPolicy tp = dr.spec().trafficPolicy();
        if (tp != null) {
            m.put("tlsMode", tp.tls() == null ? null : tp.tls().mode());
            List<String> policies = new ArrayList<>();
            if (tp.loadBalancer() != null) {
                policies.add("load balancer");
            }
            if (tp.connectionPool() != null) {
                policies.add("connection pool");
            }
            if (tp.outlierDetection() != null) {
                policies.add("outlier detection");
            }
            m.put("policies", policies);
        }
        return m;
    }

    /** The VirtualService's routes if any destination is {@code host}, else null. */
    private static Map<String, Object> routes(Config<VirtualService> vs, String host) {
        String ns = vs.meta().namespace();
        List<Map<String, Object>> destinations = new ArrayList<>();
        List<String> matches = new ArrayList<>();
        int httpRoutes = 0;
        boolean found = false;
        if (vs.spec().http() != null) {
            for (VirtualService.HTTPRoute r : vs.spec().http()) {
                boolean toHost = false;
                if (r.route() != null) {
                    for (VirtualService.HTTPRouteDestination d : r.route()) {
                        if (d.destination() != null
                                && MeshSnapshot.resolveShortName(d.destination().host(), ns).equals(host)) {
                            toHost = true;
                        }
                    }
                }
                if (!toHost) {
                    continue;
                }
                found = true;
                httpRoutes++;
                for (VirtualService.HTTPRouteDestination d : r.route()) {
                    Map<String, Object> dm = new LinkedHashMap<>();
                    dm.put("host", d.destination() == null ? null : d.destination().host());
                    dm.put("subset", d.destination() == null ? null : d.destination().subset());
                    dm.put("weight", d.weight());
                    destinations.add(dm);
                }
                if (r.match() != null) {
                    for (VirtualService.HTTPMatchRequest mr : r.match()) {
                        if (mr.uri() != null) {
                            VirtualService.StringMatch u = mr.uri();
                            matches.add(u.exact() != null ? u.exact() : u.prefix() != null ? u.prefix() + "*"
                                    : u.regex());
                        }
                    }
                }
            }
        }
        if (!found) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", vs.meta().name());
        m.put("namespace", ns);
        m.put("gateways", vs.spec().gateways());
        m.put("httpRoutes", httpRoutes);
        m.put("destinations", destinations);
        m.put("matches", matches);
        return m;
    }

    private static Config<Gateway> gateway(MeshSnapshot snapshot, String ref, String vsNamespace) {
        int slash = ref.indexOf('/');
        String ns = slash < 0 ? vsNamespace : ref.substring(0, slash);
        String name = slash < 0 ? ref : ref.substring(slash + 1);
        for (Config<Gateway> g : snapshot.gateways()) {
            if (g.meta().name().equals(name) && g.meta().namespace().equals(ns)) {
                return g;
            }
        }
        return null;
    }

    private static Map<String, Object> peerAuthentication(MeshSnapshot snapshot, String namespace,
                                                          Map<String, String> labels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", EffectivePolicies.mtlsMode(snapshot, namespace, labels));
        m.put("portModes", EffectivePolicies.mtlsPortModes(snapshot, namespace, labels));
        m.put("applied", EffectivePolicies.peerAuthentications(snapshot, namespace, labels));
        return m;
    }

    private static List<Map<String, Object>> authorizationPolicies(MeshSnapshot snapshot, ProxyNode proxy) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Config<AuthorizationPolicy> c : EffectivePolicies.authorizationPolicies(snapshot, proxy)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", c.meta().name());
            m.put("namespace", c.meta().namespace());
            m.put("action", c.spec().action());
            m.put("rules", c.spec().rules() == null ? 0 : c.spec().rules().size());
            out.add(m);
        }
        return out;
    }
}

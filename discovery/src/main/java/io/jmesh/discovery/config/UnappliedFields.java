package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Names the spec fields that jmesh accepts (Istio's API has them and istiod accepts them) but does not apply: each one
 * set is a warning {@code field.path: value (not applied by jmesh: what happens instead)}, so that no accepted field is
 * silently ignored. docs/istio-fields.md lists them under "Accepted but not applied". A field that becomes applied is
 * removed from here. Stateless.
 */
final class UnappliedFields {

    private UnappliedFields() {}

    /** Hands one warning per set-but-unapplied field of {@code spec} to {@code warn}. */
    static void warn(Object spec, Consumer<String> warn) {
        if (spec instanceof WorkloadEntry we) {
            workloadEntry(we, "spec", warn);
        } else if (spec instanceof ServiceEntry se) {
            for (int i = 0; i < se.endpoints().size(); i++) {
                workloadEntry(se.endpoints().get(i), "spec.endpoints[" + i + "]", warn);
            }
        } else if (spec instanceof VirtualService vs) {
            virtualService(vs, warn);
        } else if (spec instanceof DestinationRule dr) {
            trafficPolicy(dr.trafficPolicy(), "spec.trafficPolicy", warn);
            for (int i = 0; i < dr.subsets().size(); i++) {
                trafficPolicy(dr.subsets().get(i).trafficPolicy(), "spec.subsets[" + i + "].trafficPolicy", warn);
            }
        } else if (spec instanceof Gateway gw) {
            for (int i = 0; i < gw.servers().size(); i++) {
                Gateway.Server s = gw.servers().get(i);
                String path = "spec.servers[" + i + "]";
                if (s.port() != null) {
                    set(s.port().targetPort(), path + ".port.targetPort", "the server listens on port.number", warn);
                }
                set(s.bind(), path + ".bind", "the server listens on every address", warn);
                set(s.defaultEndpoint(), path + ".defaultEndpoint", "traffic goes to the routed destinations", warn);
                if (s.tls() != null) {
                    set(s.tls().caCrl(), path + ".tls.caCrl", "client certificates are not checked for revocation",
                            warn);
                }
            }
        } else if (spec instanceof Sidecar sc) {
            for (int i = 0; i < sc.egress().size(); i++) {
                Sidecar.IstioEgressListener e = sc.egress().get(i);
                if (e.port() != null) {
                    set(e.port().number(), "spec.egress[" + i + "].port.number", "the listener's hosts narrow what "
                            + "the sidecar sees on every port", warn);
                }
                set(e.bind(), "spec.egress[" + i + "].bind", "outbound listeners bind as without a Sidecar", warn);
                set(e.captureMode(), "spec.egress[" + i + "].captureMode", "capture is the proxy's own setting", warn);
            }
            if (sc.outboundTrafficPolicy() != null) {
                set(sc.outboundTrafficPolicy().egressProxy(), "spec.outboundTrafficPolicy.egressProxy",
                        "unknown hosts go to PassthroughCluster (ALLOW_ANY) or BlackHoleCluster", warn);
            }
        } else if (spec instanceof RequestAuthentication ra) {
            if (ra.targetRef() != null) {
                requestAuthnTarget(ra.targetRef(), "spec.targetRef", warn);
            }
            for (int i = 0; i < ra.targetRefs().size(); i++) {
                requestAuthnTarget(ra.targetRefs().get(i), "spec.targetRefs[" + i + "]", warn);
            }
        } else if (spec instanceof Telemetry t) {
            for (int i = 0; i < t.tracing().size(); i++) {
                set(t.tracing().get(i).useRequestIdForTraceSampling(),
                        "spec.tracing[" + i + "].useRequestIdForTraceSampling", "sampling uses Envoy's default", warn);
            }
            for (int i = 0; i < t.metrics().size(); i++) {
                set(t.metrics().get(i).reportingInterval(), "spec.metrics[" + i + "].reportingInterval",
                        "metrics are read when scraped", warn);
            }
        }
    }

    /** Only a Gateway target is applied (to the gateway proxy of that name); istiod accepts more kinds. */
    private static void requestAuthnTarget(RequestAuthentication.PolicyTargetReference ref, String path,
                                           Consumer<String> warn) {
        if (ref != null && !"Gateway".equals(ref.kind())) {
            warn.accept(path + ".kind: " + ref.kind() + " (not applied by jmesh: only a Gateway target is applied; "
                    + "the policy validates no token for " + ref.name() + ")");
        }
    }

    private static void workloadEntry(WorkloadEntry we, String path, Consumer<String> warn) {
        if (we != null) {
            set(we.network(), path + ".network", "jmesh has one network; the endpoint is reached directly", warn);
        }
    }

    private static void virtualService(VirtualService vs, Consumer<String> warn) {
        for (int i = 0; i < vs.http().size(); i++) {
            VirtualService.HTTPRoute r = vs.http().get(i);
            String path = "spec.http[" + i + "]";
            if (r.redirect() != null) {
                set(r.redirect().derivePort(), path + ".redirect.derivePort", "the redirect keeps the request's port "
                        + "unless redirect.port is set", warn);
            }
            if (r.directResponse() != null && r.directResponse().body() != null) {
                set(r.directResponse().body().bytes(), path + ".directResponse.body.bytes", "the response has no body",
                        warn);
            }
            if (r.retries() != null) {
                set(Boolean.TRUE.equals(r.retries().retryRemoteLocalities()) ? true : null, path + ".retries.retryRemoteLocalities",
                        "retries pick hosts as the load balancer does", warn);
            }
            if (r.fault() != null && r.fault().delay() != null) {
                set(r.fault().delay().exponentialDelay(), path + ".fault.delay.exponentialDelay",
                        "only fixedDelay delays requests", warn);
            }
            if (r.fault() != null && r.fault().abort() != null) {
                set(r.fault().abort().http2Error(), path + ".fault.abort.http2Error",
                        "only httpStatus and grpcStatus abort requests", warn);
            }
            if (r.corsPolicy() != null) {
                set(r.corsPolicy().unmatchedPreflights(), path + ".corsPolicy.unmatchedPreflights",
                        "unmatched preflights are forwarded", warn);
            }
        }
        if (!vs.tls().isEmpty() && (vs.gateways().isEmpty() || vs.gateways().contains("mesh"))) {
            warn.accept("spec.tls: " + vs.tls().size() + " route(s) (not applied by jmesh on sidecars (gateways: mesh): "
                    + "only gateway servers read tls routes)");
        }
        for (int i = 0; i < vs.tcp().size(); i++) {
            List<VirtualService.L4MatchAttributes> match = vs.tcp().get(i).match();
            for (int j = 0; j < match.size(); j++) {
                VirtualService.L4MatchAttributes m = match.get(j);
                String path = "spec.tcp[" + i + "].match[" + j + "]";
                subnets(m.destinationSubnets(), path, warn);
                sources(m.sourceLabels(), m.sourceNamespace(), m.gateways(), path, warn);
            }
        }
        for (int i = 0; i < vs.tls().size(); i++) {
            List<VirtualService.TLSMatchAttributes> match = vs.tls().get(i).match();
            for (int j = 0; j < match.size(); j++) {
                VirtualService.TLSMatchAttributes m = match.get(j);
                String path = "spec.tls[" + i + "].match[" + j + "]";
                subnets(m.destinationSubnets(), path, warn);
                sources(m.sourceLabels(), m.sourceNamespace(), m.gateways(), path, warn);
                set(m.port(), path + ".port", "the rule matches on every port of the gateway server", warn);
            }
        }
    }

    private static void subnets(List<String> subnets, String path, Consumer<String> warn) {
        if (subnets != null && !subnets.isEmpty()) {
            warn.accept(path + ".destinationSubnets: " + subnets + " (not applied by jmesh: the rule matches every "
                    + "destination address)");
        }
    }

    private static void sources(Map<String, String> sourceLabels, String sourceNamespace, List<String> gateways,
                                String path, Consumer<String> warn) {
        set(sourceLabels, path + ".sourceLabels", "the rule matches every source workload", warn);
        set(sourceNamespace, path + ".sourceNamespace", "the rule matches every source namespace", warn);
        if (gateways != null && !gateways.isEmpty()) {
            warn.accept(path + ".gateways: " + gateways + " (not applied by jmesh: the VirtualService's own "
                    + "gateways decide where the rule applies)");
        }
    }

    private static void trafficPolicy(DestinationRule.TrafficPolicy tp, String path, Consumer<String> warn) {
        if (tp == null) {
            return;
        }
        set(tp.tunnel(), path + ".tunnel", "connections go to the destination directly", warn);
        set(tp.proxyProtocol(), path + ".proxyProtocol", "no PROXY protocol header is sent", warn);
        portPolicy(tp.loadBalancer(), tp.connectionPool(), tp.tls(), path, warn);
        for (int i = 0; i < tp.portLevelSettings().size(); i++) {
            DestinationRule.PortTrafficPolicy p = tp.portLevelSettings().get(i);
            portPolicy(p.loadBalancer(), p.connectionPool(), p.tls(), path + ".portLevelSettings[" + i + "]", warn);
        }
    }

    private static void portPolicy(DestinationRule.LoadBalancerSettings lb, DestinationRule.ConnectionPoolSettings cp,
                                   DestinationRule.ClientTLSSettings tls, String path, Consumer<String> warn) {
        if (lb != null) {
            set(lb.localityLbSetting(), path + ".loadBalancer.localityLbSetting", "locality weights come from the "
                    + "endpoints' weights", warn);
        }
        if (cp != null && cp.http() != null) {
            set(Boolean.TRUE.equals(cp.http().useClientProtocol()) ? true : null, path + ".connectionPool.http.useClientProtocol", "the upstream "
                    + "protocol follows the port's protocol", warn);
        }
        if (tls != null) {
            set(tls.caCrl(), path + ".tls.caCrl", "server certificates are not checked for revocation", warn);
        }
    }

    private static void set(Object value, String path, String instead, Consumer<String> warn) {
        if (value == null || (value instanceof Map<?, ?> m && m.isEmpty()) || (value instanceof String s && s.isEmpty())) {
            return;
        }
        warn.accept(path + ": " + show(value) + " (not applied by jmesh: " + instead + ")");
    }

    private static String show(Object value) {
        String s = String.valueOf(value);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}

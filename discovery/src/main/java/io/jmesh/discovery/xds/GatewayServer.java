package io.jmesh.discovery.xds;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.model.MeshSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** One server of a Gateway that selects the proxy, with the names Istio derives from it. */
record GatewayServer(String gatewayName, String gatewayNamespace, Gateway.Server server, int index) {

    /** Returns the servers of every Gateway whose selector matches the proxy's labels. */
    static List<GatewayServer> of(GenerationContext ctx) {
        List<GatewayServer> out = new ArrayList<>();
        for (Config<Gateway> gw : ctx.snapshot.gateways()) {
            if (!Labels.selects(gw.spec().selector(), ctx.proxy.labels())) {
                continue;
            }
            List<Gateway.Server> servers = gw.spec().servers();
            for (int i = 0; i < servers.size(); i++) {
                out.add(new GatewayServer(gw.meta().name(), gw.meta().namespace(), servers.get(i), i));
            }
        }
        return out;
    }

    int port() {
        return server.port().number();
    }

    String protocol() {
        return server.port().protocol().toUpperCase(Locale.ROOT);
    }

    String tlsMode() {
        return server.tls() == null || server.tls().mode() == null ? "PASSTHROUGH" : server.tls().mode();
    }

    /** Whether HTTP routes (RDS) serve this server: plain HTTP, or HTTPS terminated here. */
    boolean isHttpRouted() {
        String p = protocol();
        return p.equals("HTTP") || p.equals("HTTP2") || p.equals("GRPC")
                || (p.equals("HTTPS") && !tlsMode().contains("PASSTHROUGH"));
    }

    /** Istio's route name: {@code http.<port>} or {@code https.<port>.<server>.<gateway>.<namespace>}. */
    String routeName() {
        if (protocol().equals("HTTPS")) {
            String serverName = server.name() != null ? server.name()
                    : server.port().name() != null ? server.port().name() : String.valueOf(index);
            return "https." + port() + '.' + serverName + '.' + gatewayName + '.' + gatewayNamespace;
        }
        return "http." + port();
    }

    /** Returns the servers (of any selected gateway) that share this one's route name. */
    List<GatewayServer> sameRoute(GenerationContext ctx) {
        List<GatewayServer> out = new ArrayList<>();
        for (GatewayServer gs : of(ctx)) {
            if (gs.isHttpRouted() && gs.routeName().equals(routeName())) {
                out.add(gs);
            }
        }
        return out;
    }

    /**
     * Returns the hosts this server exposes of a VirtualService host {@code vsHost} in
     * {@code vsNamespace}: for each server host that overlaps it, the more specific of the two.
     */
    List<String> intersect(String vsHost, String vsNamespace) {
        List<String> out = new ArrayList<>();
        for (String h : server.hosts()) {
            String ns = "*";
            String name = h;
            int slash = h.indexOf('/');
            if (slash >= 0) {
                ns = h.substring(0, slash);
                name = h.substring(slash + 1);
            }
            boolean nsOk = ns.equals("*") || (ns.equals(".") ? vsNamespace.equals(gatewayNamespace)
                    : ns.equals(vsNamespace));
            if (!nsOk) {
                continue;
            }
            String host = MeshSnapshot.hostMatches(name, vsHost) ? vsHost
                    : MeshSnapshot.hostMatches(vsHost, name) ? name : null;
            if (host != null && !out.contains(host)) {
                out.add(host);
            }
        }
        return out;
    }

    /** Whether this server exposes {@code host} of a VirtualService in {@code vsNamespace}. */
    boolean exposes(String host, String vsNamespace) {
        for (String h : server.hosts()) {
            String ns = "*";
            String name = h;
            int slash = h.indexOf('/');
            if (slash >= 0) {
                ns = h.substring(0, slash);
                name = h.substring(slash + 1);
            }
            boolean nsOk = ns.equals("*") || (ns.equals(".") ? vsNamespace.equals(gatewayNamespace)
                    : ns.equals(vsNamespace));
            if (nsOk && (MeshSnapshot.hostMatches(name, host) || MeshSnapshot.hostMatches(host, name))) {
                return true;
            }
        }
        return false;
    }
}

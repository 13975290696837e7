package io.jmesh.discovery.debug;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigError;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.server.ProxyStatus;
import io.jmesh.discovery.xds.EffectivePolicies;
import io.jmesh.discovery.xds.ProxyNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * discovery's web dashboard ({@code /dashboard}, what Kiali is to Istio, built in): one page that polls
 * {@code /debug/dashboardz} every two seconds and draws the services and workloads as a graph (a workload serves a
 * service when the service has an endpoint at its proxy's address; a VirtualService route is an edge from the
 * service it is for to each destination, with its weight), each workload's effective mTLS mode, each proxy's sync
 * state per xDS type, and the config objects with their validation errors. Plain HTML, CSS and JavaScript with no
 * library; the model is computed on the monitoring thread from one snapshot.
 */
final class Dashboard {

    private Dashboard() {}

    /** The model the page draws. */
    static Map<String, Object> model(MeshSnapshot snapshot, List<ProxyStatus> statuses, List<ProxyNode> proxies) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("version", snapshot.version());
        List<Map<String, Object>> nodes = new ArrayList<>();
        List<Map<String, Object>> edges = new ArrayList<>();
        for (Service s : snapshot.services().values()) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("id", s.hostname());
            n.put("kind", "service");
            n.put("label", s.hostname());
            n.put("endpoints", snapshot.endpoints().getOrDefault(s.hostname(), List.of()).size());
            nodes.add(n);
        }
        for (ProxyNode p : proxies) {
            Map<String, Object> n = new LinkedHashMap<>();
            String id = p.name() + "." + p.namespace();
            n.put("id", id);
            n.put("kind", p.type() == ProxyNode.Type.ROUTER ? "gateway" : "workload");
            n.put("label", id);
            n.put("mtls", EffectivePolicies.mtlsMode(snapshot, p.namespace(), p.labels()));
            nodes.add(n);
            Set<String> served = new LinkedHashSet<>();
            for (Endpoint e : EffectivePolicies.ownEndpoints(snapshot, p)) {
                served.add(e.serviceHost());
            }
            for (String host : served) {
                Map<String, Object> edge = new LinkedHashMap<>();
                edge.put("from", host);
                edge.put("to", id);
                edge.put("kind", "endpoint");
                edge.put("mtls", n.get("mtls"));
                edges.add(edge);
            }
        }
        for (Config<VirtualService> vs : snapshot.virtualServices()) {
            String ns = vs.meta().namespace();
            List<String> from = new ArrayList<>();
            boolean mesh = vs.spec().gateways() == null || vs.spec().gateways().isEmpty()
                    || vs.spec().gateways().contains("mesh");
            for (String h : vs.spec().hosts()) {
                String host = MeshSnapshot.resolveShortName(h, ns);
                if (snapshot.service(host) != null && mesh) {
                    from.add(host);
                }
            }
            if (!mesh) {
                from.add("gateway:" + String.join(",", vs.spec().gateways()));
            }
            if (vs.spec().http() == null) {
                continue;
            }
            for (VirtualService.HTTPRoute r : vs.spec().http()) {
                if (r.route() == null) {
                    continue;
                }
                for (VirtualService.HTTPRouteDestination d : r.route()) {
                    if (d.destination() == null) {
                        continue;
                    }
                    String to = MeshSnapshot.resolveShortName(d.destination().host(), ns);
                    for (String f : from) {
                        if (f.equals(to) && d.destination().subset() == null) {
                            continue;
                        }
                        Map<String, Object> edge = new LinkedHashMap<>();
                        edge.put("from", f);
                        edge.put("to", to);
                        edge.put("kind", "route");
                        edge.put("virtualService", vs.meta().name() + "." + ns);
                        edge.put("subset", d.destination().subset());
                        edge.put("weight", d.weight());
                        edges.add(edge);
                    }
                }
            }
        }
        out.put("nodes", nodes);
        out.put("edges", edges);
        out.put("proxies", MonitoringServer.syncz(statuses));
        List<Map<String, Object>> configs = new ArrayList<>();
        for (Config<?> c : snapshot.config().configs()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", c.meta().kind().kindName());
            m.put("name", c.meta().name() + "." + c.meta().namespace());
            m.put("status", "accepted");
            configs.add(m);
        }
        for (ConfigError e : snapshot.config().errors()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", "-");
            m.put("name", String.valueOf(e.key()));
            m.put("status", "rejected");
            m.put("message", (e.source().file() == null ? "" : e.source().file().getFileName() + ":"
                    + e.source().line() + ": ") + e.reason());
            configs.add(m);
        }
        out.put("configs", configs);
        return out;
    }

    /** The page. */
    static final String HTML = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>jmesh dashboard</title>
            <style>
            body{font-family:sans-serif;margin:16px;color:#222}
            h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:16px 0 6px}
            table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            .SYNCED{color:#080} .STALE{color:#b60} .NACKED,.rejected{color:#c00;font-weight:bold}
            svg text{font-size:11px} .service rect{fill:#e6f0ff;stroke:#36c} .workload rect{fill:#eaf7ea;stroke:#393}
            .gateway rect{fill:#fff3e0;stroke:#c60} .edge{stroke:#888;fill:none} .route{stroke:#36c;stroke-dasharray:4 2}
            .STRICT{stroke:#080;stroke-width:2}
            #status{font-size:12px;color:#666}
            </style></head><body>
            <h1>jmesh dashboard</h1>
            <div id="status">loading...</div>
            <h2>Graph</h2>
            <svg id="graph" width="1100" height="300"></svg>
            <h2>Proxies</h2>
            <table id="proxies"><thead><tr><th>NAME</th><th>CDS</th><th>LDS</th><th>EDS</th><th>RDS</th></tr></thead>
            <tbody></tbody></table>
            <h2>Config</h2>
            <table id="configs"><thead><tr><th>KIND</th><th>NAME</th><th>STATUS</th><th>MESSAGE</th></tr></thead>
            <tbody></tbody></table>
            <script>
            let updates = 0;
            const NS = 'http://www.w3.org/2000/svg';
            function el(name, attrs, text) {
              const e = document.createElementNS(NS, name);
              for (const k in attrs) e.setAttribute(k, attrs[k]);
              if (text !== undefined) e.textContent = text;
              return e;
            }
            function cell(tr, text, cls) {
              const td = document.createElement('td'); td.textContent = text === undefined ? '' : text;
              if (cls) td.className = cls; tr.appendChild(td);
            }
            function name(id) { const p = id.split('~'); return p.length === 4 ? p[2] : id; }
            function draw(m) {
              const svg = document.getElementById('graph');
              svg.replaceChildren();
              const columns = {gateway: 0, service: 1, workload: 2};
              const pos = {}; const rows = [0, 0, 0];
              const gwIds = [...new Set(m.edges.filter(e => e.from.startsWith('gateway:')).map(e => e.from))];
              const nodes = gwIds.map(id => ({id: id, kind: 'gateway', label: id})).concat(m.nodes);
              for (const n of nodes) {
                const c = columns[n.kind]; pos[n.id] = {x: 20 + c * 400, y: 20 + rows[c]++ * 80};
              }
              svg.setAttribute('height', 60 + 80 * Math.max(...rows, 1));
              let loops = 0;
              for (const e of m.edges) {
                const a = pos[e.from], b = pos[e.to];
                if (!a || !b) continue;
                const label = e.kind === 'route' ? (e.subset || '') + (e.weight != null ? ' ' + e.weight + '%' : '')
                  : 'mTLS ' + e.mtls;
                const attrs = {class: 'edge ' + e.kind + ' ' + (e.mtls || ''), 'data-edge': e.from + '->' + e.to};
                if (e.from === e.to) {
                  // A route to a subset of the same service: a loop under the node, one lane per route.
                  const d = 12 + 10 * loops++;
                  attrs.d = `M${a.x + 220},${a.y + 28} C${a.x + 220},${a.y + 28 + d} ${a.x + 60},${a.y + 28 + d} ${a.x + 60},${a.y + 28}`;
                  svg.appendChild(el('path', attrs));
                  svg.appendChild(el('text', {x: a.x + 230, y: a.y + 28 + d}, label));
                  continue;
                }
                attrs.d = `M${a.x + 280},${a.y + 14} L${b.x},${b.y + 14}`;
                svg.appendChild(el('path', attrs));
                svg.appendChild(el('text', {x: a.x + 290, y: (a.y + b.y) / 2 + 10}, label));
              }
              for (const n of nodes) {
                const g = el('g', {class: n.kind, 'data-node': n.id});
                const p = pos[n.id];
                g.appendChild(el('rect', {x: p.x, y: p.y, width: 280, height: 28, rx: 4}));
                let text = n.label;
                if (n.kind === 'service') text += ' (' + n.endpoints + ' endpoints)';
                if (n.mtls) text += ' [' + n.mtls + ']';
                g.appendChild(el('text', {x: p.x + 6, y: p.y + 18}, text));
                svg.appendChild(g);
              }
            }
            function render(m) {
              draw(m);
              const pb = document.querySelector('#proxies tbody'); pb.replaceChildren();
              for (const p of m.proxies) {
                const tr = document.createElement('tr'); tr.setAttribute('data-proxy', name(p.proxy));
                cell(tr, name(p.proxy));
                for (const t of ['cluster', 'listener', 'endpoint', 'route']) {
                  const s = p[t + '_state'] || 'NOT SENT'; cell(tr, s, s);
                }
                pb.appendChild(tr);
              }
              const cb = document.querySelector('#configs tbody'); cb.replaceChildren();
              for (const c of m.configs) {
                const tr = document.createElement('tr'); tr.setAttribute('data-config', c.name);
                cell(tr, c.kind); cell(tr, c.name); cell(tr, c.status, c.status); cell(tr, c.message);
                cb.appendChild(tr);
              }
              updates++;
              const st = document.getElementById('status');
              st.textContent = 'config version ' + m.version + ', ' + m.proxies.length + ' proxies; updated '
                + updates + ' times (every 2 s)';
              st.setAttribute('data-updates', updates);
            }
            async function poll() {
              try {
                const r = await fetch('/debug/dashboardz');
                render(await r.json());
              } catch (e) {
                document.getElementById('status').textContent = 'discovery not reachable: ' + e;
              }
              setTimeout(poll, 2000);
            }
            poll();
            </script>
            </body></html>
            """;
}

package io.jmesh.cli.istioctl;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jmesh x describe pod|service NAME}: istioctl's {@code x describe}, printing what discovery's
 * {@code /debug/describe} says applies to a workload or a service, in istioctl's shape: the service and its
 * ports, the DestinationRule with the subsets the pod matches and its TLS mode, the VirtualServices routing to
 * it, the effective PeerAuthentication mode and the policies it comes from, the AuthorizationPolicies that select
 * the workload, and the ingress gateways exposing the service.
 */
@Command(name = "x", aliases = "experimental", mixinStandardHelpOptions = true,
        description = "Experimental commands (istioctl x).", subcommands = DescribeCommand.Describe.class)
public final class DescribeCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing the command (expected: describe)");
    }

    @Command(name = "describe", aliases = "des", mixinStandardHelpOptions = true,
            description = "Describes the Istio configuration that applies to a pod or a service.",
            subcommands = {Pod.class, Svc.class})
    static final class Describe implements Runnable {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "missing the kind (expected: pod or service)");
        }
    }

    abstract static class Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME", description = "NAME[.NAMESPACE]")
        String name;

        @Option(names = {"-n", "--namespace"}, defaultValue = "default", paramLabel = "NS",
                description = "The namespace of NAME when it has none (default: ${DEFAULT-VALUE}).")
        String namespace;

        @Option(names = {"--discovery-address", "-d"}, defaultValue = "127.0.0.1:15014", paramLabel = "HOST:PORT",
                description = "jmesh discovery's monitoring address (default: ${DEFAULT-VALUE}).")
        String discovery;

        @Override
        public final Integer call() {
            return Http.print(() -> render(Http.getJson(discovery, "/debug/describe?" + query(), "jmesh discovery")));
        }

        abstract String query();

        abstract String render(JsonNode facts);

        static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }
    }

    @Command(name = "pod", aliases = "po", mixinStandardHelpOptions = true,
            description = "Describes a pod: a workload with a proxy connected to discovery (NAME.NAMESPACE as "
                    + "jmesh proxy-status lists it).")
    static final class Pod extends Base {
        @Override
        String query() {
            return "pod=" + enc(name.contains(".") ? name : name + "." + namespace);
        }

        @Override
        String render(JsonNode f) {
            return DescribeCommand.pod(f);
        }
    }

    @Command(name = "service", aliases = "svc", mixinStandardHelpOptions = true,
            description = "Describes a service: its ports, DestinationRule, VirtualServices and ingress.")
    static final class Svc extends Base {
        @Override
        String query() {
            return "service=" + enc(name) + "&namespace=" + enc(namespace);
        }

        @Override
        String render(JsonNode f) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode s : f.path("services")) {
                service(sb, s, false);
            }
            return sb.toString();
        }
    }

    static String pod(JsonNode f) {
        JsonNode pod = f.path("pod");
        StringBuilder sb = new StringBuilder();
        sb.append("Pod: ").append(pod.path("name").asText()).append('\n');
        List<String> ports = new ArrayList<>();
        pod.path("ports").forEach(p -> ports.add(p.asText()));
        if (!ports.isEmpty()) {
            sb.append("   Pod Ports: ").append(String.join(", ", ports)).append('\n');
        }
        if (!pod.path("type").asText().equals("SIDECAR")) {
            sb.append("   Proxy type: ").append(pod.path("type").asText()).append('\n');
        }
        if (f.path("services").isEmpty()) {
            sb.append("Suggestion: no service has an endpoint at this pod's address (").append(pod.path("ip").asText())
                    .append(")\n");
        }
        for (JsonNode s : f.path("services")) {
            sb.append("--------------------\n");
            service(sb, s, true);
        }
        sb.append("--------------------\n");
        JsonNode pa = f.path("peerAuthentication");
        sb.append("Effective PeerAuthentication:\n");
        sb.append("   Workload mTLS mode: ").append(pa.path("mode").asText()).append('\n');
        pa.path("portModes").fields().forEachRemaining(e -> sb.append("   Port ").append(e.getKey())
                .append(" mTLS mode: ").append(e.getValue().asText()).append('\n'));
        List<String> applied = new ArrayList<>();
        pa.path("applied").forEach(a -> applied.add(a.asText()));
        if (!applied.isEmpty()) {
            sb.append("Applied PeerAuthentication:\n   ").append(String.join(", ", applied)).append('\n');
        }
        List<String> authz = new ArrayList<>();
        f.path("authorizationPolicies").forEach(a -> authz.add(a.path("name").asText() + "."
                + a.path("namespace").asText() + " (" + a.path("action").asText() + ", "
                + a.path("rules").asInt() + " rule" + (a.path("rules").asInt() == 1 ? "" : "s") + ")"));
        if (!authz.isEmpty()) {
            sb.append("Applied AuthorizationPolicies:\n");
            authz.forEach(a -> sb.append("   ").append(a).append('\n'));
        }
        return sb.toString();
    }

    private static void service(StringBuilder sb, JsonNode s, boolean forPod) {
        String host = s.path("hostname").asText();
        String shortName = host.endsWith(".svc.cluster.local") ? host.substring(0, host.indexOf('.')) : host;
        sb.append("Service: ").append(shortName).append('\n');
        for (JsonNode p : s.path("ports")) {
            sb.append("   Port: ").append(p.path("name").asText("")).append(' ').append(p.path("number").asInt())
                    .append('/').append(p.path("protocol").asText("TCP"));
            int target = p.path("targetPort").asInt(0);
            sb.append(" targets pod port ").append(target > 0 ? target : p.path("number").asInt()).append('\n');
        }
        JsonNode dr = s.path("destinationRule");
        if (!dr.isMissingNode()) {
            sb.append("DestinationRule: ").append(dr.path("name").asText()).append(" for \"")
                    .append(dr.path("host").asText()).append("\"\n");
            List<String> matching = strings(dr.path("matchingSubsets"));
            List<String> other = strings(dr.path("nonMatchingSubsets"));
            if (forPod && matching.isEmpty() && !other.isEmpty()) {
                sb.append("  WARNING POD DOES NOT MATCH ANY SUBSETS.  (Non matching subsets ")
                        .append(String.join(",", other)).append(")\n");
            }
            if (forPod || !matching.isEmpty() || !other.isEmpty()) {
                sb.append("   Matching subsets: ").append(String.join(",", matching)).append('\n');
                if (!other.isEmpty()) {
                    sb.append("      (Non-matching subsets ").append(String.join(",", other)).append(")\n");
                }
            }
            if (!dr.has("tlsMode") && !dr.has("policies")) {
                sb.append("   No Traffic Policy\n");
            } else {
                if (dr.hasNonNull("tlsMode")) {
                    sb.append("   Traffic Policy TLS Mode: ").append(dr.path("tlsMode").asText()).append('\n');
                }
                List<String> policies = strings(dr.path("policies"));
                if (!policies.isEmpty()) {
                    sb.append("   Policies: ").append(String.join("/", policies)).append('\n');
                }
            }
        }
        List<String> matching = forPod ? strings(dr.path("matchingSubsets")) : List.of();
        for (JsonNode vs : s.path("virtualServices")) {
            sb.append("VirtualService: ").append(vs.path("name").asText()).append('\n');
            boolean reachesPod = false;
            for (JsonNode d : vs.path("destinations")) {
                String subset = d.path("subset").asText("");
                boolean toHost = d.path("host").asText().equals(host)
                        || host.startsWith(d.path("host").asText() + ".");
                if (toHost && (subset.isEmpty() || matching.contains(subset))) {
                    reachesPod = true;
                }
            }
            if (forPod && !reachesPod) {
                sb.append("   WARNING: No destinations match pod subsets (checked ")
                        .append(vs.path("httpRoutes").asInt()).append(" HTTP routes)\n");
            }
            for (JsonNode d : vs.path("destinations")) {
                sb.append("   Route to host \"").append(d.path("host").asText()).append('"');
                if (!d.path("subset").asText("").isEmpty()) {
                    sb.append(" subset \"").append(d.path("subset").asText()).append('"');
                }
                if (d.hasNonNull("weight")) {
                    sb.append(" with weight ").append(d.path("weight").asInt()).append('%');
                }
                sb.append('\n');
            }
            List<String> matches = strings(vs.path("matches"));
            if (!matches.isEmpty()) {
                sb.append("   Match: ").append(String.join(", ", matches)).append('\n');
            }
        }
        JsonNode ingress = s.path("ingress");
        if (ingress.isEmpty()) {
            sb.append("No Ingress Gateway found for service ").append(shortName).append('\n');
        }
        for (JsonNode g : ingress) {
            sb.append("--------------------\n");
            List<String> addresses = new ArrayList<>();
            for (JsonNode srv : g.path("servers")) {
                for (JsonNode h : srv.path("hosts")) {
                    addresses.add(srv.path("protocol").asText("HTTP").toLowerCase(java.util.Locale.ROOT)
                            .replace("http2", "http") + "://" + h.asText() + ":" + srv.path("port").asText());
                }
            }
            sb.append("Exposed on Ingress Gateway ").append(g.path("gateway").asText()).append(' ')
                    .append(String.join(", ", addresses)).append('\n');
            List<String> proxies = strings(g.path("gatewayProxies"));
            sb.append("   Gateway proxies: ").append(proxies.isEmpty() ? "none connected" : String.join(", ", proxies))
                    .append('\n');
            sb.append("VirtualService: ").append(g.path("virtualService").asText()).append('\n');
            List<String> matches = strings(g.path("matches"));
            sb.append("   ").append(matches.isEmpty() ? "/*" : String.join(", ", matches)).append('\n');
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}

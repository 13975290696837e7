package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.registry.file.FileServiceRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Translation golden tests: each {@code golden/NAME.yaml} (Istio YAML; its leading comments name
 * the node: {@code # node-id:}, {@code # node-labels: k=v,...}, {@code # node-generator:}; and mesh
 * config: {@code # mesh-access-log:}, {@code # mesh-outbound:}) is
 * turned into that proxy's CDS, EDS, LDS and RDS and compared with {@code golden/NAME.json}.
 * Run with {@code -Dgolden.update=true} to rewrite the JSON files, then review the diff by hand.
 */
class GoldenTest {

    private static final Path DIR = Path.of("src/test/resources/golden");
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Path> cases() throws Exception {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void translatesIstioYamlToEnvoyJson(Path yaml) throws Exception {
        ConfigParser.Result parsed = ConfigParser.parse(yaml);
        assertEquals(List.of(), parsed.errors());
        List<String> lines = Files.readAllLines(yaml);
        String accessLog = lines.stream().filter(l -> l.startsWith("# mesh-access-log:"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(null);
        String outbound = lines.stream().filter(l -> l.startsWith("# mesh-outbound:"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(null);
        MeshConfig mesh = new MeshConfig(null, outbound == null ? null
                : new io.jmesh.discovery.config.Sidecar.OutboundTrafficPolicy(outbound, null), accessLog, null);
        ConfigSnapshot config = new ConfigSnapshot(parsed.configs(), parsed.errors(), mesh);
        FileServiceRegistry registry = new FileServiceRegistry();
        registry.update(config);
        MeshSnapshot snapshot = new MeshSnapshot(1, config, registry.services(), registry.endpoints());
        ProxyNode proxy = ProxyNode.of(node(lines));

        ObjectNode out = JSON.createObjectNode();
        JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(XdsGenerator.TYPE_REGISTRY);
        for (Map.Entry<String, Map<String, Message>> type : XdsGenerator.generateAll(proxy, snapshot).entrySet()) {
            ArrayNode resources = out.putArray(TypeUrls.shortName(type.getKey()));
            for (Message m : type.getValue().values()) {
                resources.add(JSON.readTree(printer.print(m)));
            }
        }
        String actual = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out) + "\n";
        Path golden = Path.of(yaml.toString().replaceFirst("\\.yaml$", ".json"));
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(golden, actual);
        }
        assertTrue(Files.exists(golden), golden + " missing: run with -Dgolden.update=true and review it");
        assertEquals(Files.readString(golden), actual, "generated config differs from " + golden);
    }

    private static Node node(List<String> lines) {
        Node.Builder n = Node.newBuilder();
        Struct.Builder md = Struct.newBuilder();
        for (String line : lines) {
            if (!line.startsWith("# node-")) { // "# mesh-..." lines are read above
                continue;
            }
            String key = line.substring(2, line.indexOf(':'));
            String value = line.substring(line.indexOf(':') + 1).trim();
            switch (key) {
                case "node-id" -> n.setId(value);
                case "node-generator" -> md.putFields("GENERATOR", Value.newBuilder().setStringValue(value).build());
                case "node-labels" -> {
                    Struct.Builder labels = Struct.newBuilder();
                    for (String kv : value.split(",")) {
                        String[] p = kv.split("=", 2);
                        labels.putFields(p[0], Value.newBuilder().setStringValue(p[1]).build());
                    }
                    md.putFields("LABELS", Value.newBuilder().setStructValue(labels).build());
                }
                default -> throw new IllegalArgumentException("unknown golden header " + key);
            }
        }
        return n.setMetadata(md).build();
    }
}

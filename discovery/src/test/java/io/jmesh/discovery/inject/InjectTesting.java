package io.jmesh.discovery.inject;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/** Helpers of the injection tests: reading YAML back into fabric8's typed model. */
final class InjectTesting {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final ObjectMapper JSON = new ObjectMapper();
    static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private InjectTesting() {}

    static String resource(String name) {
        try (InputStream in = InjectTesting.class.getResourceAsStream("/inject/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource inject/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every document of {@code yaml} as fabric8's typed object. */
    static List<io.fabric8.kubernetes.api.model.KubernetesResource> documents(String yaml) throws IOException {
        List<io.fabric8.kubernetes.api.model.KubernetesResource> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                JsonNode n = it.nextValue();
                out.add(SERIALIZATION.unmarshal(JSON.writeValueAsString(n)));
            }
        }
        return out;
    }

    static List<JsonNode> trees(String yaml) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                out.add(it.nextValue());
            }
        }
        return out;
    }

    static List<String> names(List<Container> containers) {
        return containers == null ? List.of() : containers.stream().map(Container::getName).toList();
    }

    static Container container(List<Container> containers, String name) {
        return containers.stream().filter(c -> c.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name + " in " + names(containers)));
    }

    static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst()
                .orElse(null);
    }

    static String envField(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name))
                .map(e -> e.getValueFrom().getFieldRef().getFieldPath()).findFirst().orElse(null);
    }

    /** The value following {@code flag} in {@code args} (the first occurrence). */
    static String arg(List<String> args, String flag) {
        int i = args.indexOf(flag);
        return i < 0 || i + 1 >= args.size() ? null : args.get(i + 1);
    }

    static List<String> args(List<String> args, String flag) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i + 1 < args.size(); i++) {
            if (args.get(i).equals(flag)) {
                out.add(args.get(i + 1));
            }
        }
        return out;
    }

    static Map<String, String> quantities(Map<String, io.fabric8.kubernetes.api.model.Quantity> q) {
        Map<String, String> out = new java.util.TreeMap<>();
        if (q != null) {
            q.forEach((k, v) -> out.put(k, v.toString()));
        }
        return out;
    }
}

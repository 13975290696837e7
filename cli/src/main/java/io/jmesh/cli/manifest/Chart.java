package io.jmesh.cli.manifest;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * The jmesh Helm chart ({@code deploy/helm/jmesh}): its default values, its {@code crds/} (installed as they are,
 * as Helm does) and its {@code templates/}, rendered by {@link ChartTemplate}. Immutable once loaded.
 */
public final class Chart {

    /** Where the build puts the chart in the jar (cli's pom copies {@code deploy/helm/jmesh} there). */
    public static final String RESOURCE = "io/jmesh/cli/manifest/chart";

    /**
     * Helm's install order of kinds ({@code pkg/release/util/kind_sorter.go} {@code InstallOrder}); kinds not listed
     * (webhook configurations, custom resources) come last, in template order.
     */
    static final List<String> INSTALL_ORDER = List.of("PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota",
            "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
            "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
            "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList",
            "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
            "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
            "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** The keys of values whose content is free-form (passed through to a config that checks it itself). */
    private static final List<String> FREE_FORM = List.of("meshConfig");

    private final Map<String, Object> defaults;
    private final List<Source> crds;
    private final List<ChartTemplate> templates;

    /** A file of the chart: its path relative to the chart ({@code crds/crd-all.yaml}) and its text. */
    private record Source(String name, String text) {}

    /**
     * One object of the output.
     *
     * @param source the chart file it came from ({@code templates/service.yaml})
     * @param kind   its {@code kind}
     * @param name   its {@code metadata.name}
     * @param yaml   its YAML, without the document separator
     */
    public record Manifest(String source, String kind, String name, String yaml) {}

    private Chart(Map<String, Object> defaults, List<Source> crds, List<ChartTemplate> templates) {
        this.defaults = defaults;
        this.crds = crds;
        this.templates = templates;
    }

    /** The chart the build copied into this jar. */
    public static Chart fromClasspath() {
        URL url = Chart.class.getClassLoader().getResource(RESOURCE + "/Chart.yaml");
        if (url == null) {
            throw new ChartException(RESOURCE + "/Chart.yaml: missing from the class path (expected: the build copies "
                    + "deploy/helm/jmesh there)");
        }
        try {
            URI uri = url.toURI();
            if (!uri.getScheme().equals("jar")) {
                return load(Path.of(uri).getParent());
            }
            try (FileSystem fs = FileSystems.newFileSystem(uri, Map.of())) {
                return load(fs.getPath(RESOURCE));
            } catch (FileSystemAlreadyExistsException e) {
                return load(FileSystems.getFileSystem(uri).getPath(RESOURCE));
            }
        } catch (URISyntaxException | IOException e) {
            throw new ChartException(url + ": " + e.getMessage(), e);
        }
    }

    /** Reads the chart in {@code dir} ({@code values.yaml}, {@code crds/*.yaml}, {@code templates/*.yaml}). */
    public static Chart load(Path dir) throws IOException {
        Map<String, Object> defaults = readValues(dir.resolve("values.yaml"), "values.yaml");
        List<Source> crds = new ArrayList<>();
        for (Path p : yamlFiles(dir.resolve("crds"))) {
            crds.add(new Source("crds/" + p.getFileName(), Files.readString(p, StandardCharsets.UTF_8)));
        }
        List<ChartTemplate> templates = new ArrayList<>();
        for (Path p : yamlFiles(dir.resolve("templates"))) {
            templates.add(ChartTemplate.parse("templates/" + p.getFileName(), Files.readString(p, StandardCharsets.UTF_8)));
        }
        return new Chart(defaults, List.copyOf(crds), List.copyOf(templates));
    }

    private static List<Path> yamlFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".yaml"))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
    }

    /** A copy of the chart's {@code values.yaml}. */
    public Map<String, Object> defaults() {
        return deepCopy(defaults);
    }

    /**
     * The values to render with: the defaults, then each file of {@code files} merged over them (maps merge key by
     * key, anything else replaces), then each {@code --set} of {@code sets}, then {@code revision} when not null.
     *
     * @throws ChartException naming the file or {@code --set} of an unknown key, a bad value or a bad revision
     */
    public Map<String, Object> values(List<Path> files, List<String> sets, String revision) {
        Map<String, Object> values = deepCopy(defaults);
        for (Path f : files) {
            Map<String, Object> given;
            try {
                given = readValues(f, f.toString());
            } catch (IOException e) {
                throw new ChartException(f + ": " + e.getMessage(), e);
            }
            check(f.toString(), "", defaults, given);
            merge(values, given);
        }
        for (String set : sets) {
            for (String assignment : splitSet(set)) {
                int eq = assignment.indexOf('=');
                String key = eq < 0 ? assignment : assignment.substring(0, eq);
                if (eq <= 0 || !key.matches("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*")) {
                    throw new ChartException("--set " + assignment + ": " + (eq < 0 ? "no value" : "bad key")
                            + " (expected: key.key=value; lists and indexes [0] only with -f)");
                }
                Map<String, Object> given = new LinkedHashMap<>();
                Map<String, Object> at = given;
                String[] parts = key.split("\\.");
                for (int k = 0; k < parts.length - 1; k++) {
                    Map<String, Object> next = new LinkedHashMap<>();
                    at.put(parts[k], next);
                    at = next;
                }
                at.put(parts[parts.length - 1], scalar(assignment.substring(eq + 1)));
                check("--set " + assignment, "", defaults, given);
                merge(values, given);
            }
        }
        if (revision != null) {
            if (!revision.isEmpty() && !revision.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
                throw new ChartException("--revision: " + revision + " (expected: a DNS label: lower-case letters, "
                        + "digits and '-', e.g. 1-22 or canary)");
            }
            values.put("revision", revision);
        }
        Object rev = values.get("revision");
        if (rev != null && !(rev instanceof String)) {
            values.put("revision", String.valueOf(rev));
        }
        return values;
    }

    /**
     * Renders the chart: the CRDs, then every template's objects, in Helm's install order of kinds.
     *
     * @throws ChartException naming the template and line of a missing value, or the template and document that
     *                        is not a Kubernetes object
     */
    public List<Manifest> render(Map<String, Object> values) {
        List<Manifest> out = new ArrayList<>();
        for (Source crd : crds) {
            out.addAll(documents(crd.name, crd.text));
        }
        for (ChartTemplate t : templates) {
            out.addAll(documents(t.name(), t.render(values)));
        }
        List<Manifest> sorted = new ArrayList<>(out);
        sorted.sort(Comparator.comparingInt(m -> {
            int i = INSTALL_ORDER.indexOf(m.kind());
            return i < 0 ? INSTALL_ORDER.size() : i;
        }));
        return List.copyOf(sorted);
    }

    /** What {@code jmesh manifest generate} prints: each object after {@code ---} and a {@code # Source:} line. */
    public static String print(List<Manifest> manifests) {
        StringBuilder b = new StringBuilder();
        for (Manifest m : manifests) {
            b.append("---\n# Source: jmesh/").append(m.source()).append('\n').append(m.yaml()).append('\n');
        }
        return b.toString();
    }

    private static List<Manifest> documents(String source, String text) {
        List<Manifest> out = new ArrayList<>();
        List<StringBuilder> docs = new ArrayList<>();
        docs.add(new StringBuilder());
        for (String line : text.split("\n", -1)) {
            if (line.stripTrailing().equals("---")) {
                docs.add(new StringBuilder());
            } else {
                docs.get(docs.size() - 1).append(line).append('\n');
            }
        }
        int n = 0;
        for (StringBuilder doc : docs) {
            n++;
            String yaml = strip(doc.toString());
            if (yaml.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
                continue;
            }
            Object parsed;
            try {
                parsed = YAML.readValue(yaml, Object.class);
            } catch (JsonProcessingException e) {
                throw new ChartException(source + ": document " + n + ": " + e.getOriginalMessage() + " at line "
                        + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + " of:\n" + yaml);
            }
            if (!(parsed instanceof Map<?, ?> m) || !(m.get("kind") instanceof String kind)
                    || !(m.get("apiVersion") instanceof String)
                    || !(m.get("metadata") instanceof Map<?, ?> meta) || !(meta.get("name") instanceof String name)) {
                throw new ChartException(source + ": document " + n + ": not a Kubernetes object (expected: apiVersion, "
                        + "kind and metadata.name)");
            }
            out.add(new Manifest(source, kind, name, yaml));
        }
        return out;
    }

    /** Drops leading blank lines and trailing whitespace. */
    private static String strip(String s) {
        while (s.startsWith("\n")) {
            s = s.substring(1);
        }
        return s.stripTrailing();
    }

    private static Map<String, Object> readValues(Path file, String name) throws IOException {
        Object v;
        try {
            v = YAML.readValue(Files.readString(file, StandardCharsets.UTF_8), Object.class);
        } catch (JsonProcessingException e) {
            throw new ChartException(name + ":" + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + ": "
                    + e.getOriginalMessage(), e);
        }
        if (v == null) {
            return new LinkedHashMap<>();
        }
        if (!(v instanceof Map<?, ?>)) {
            throw new ChartException(name + ": " + v.getClass().getSimpleName() + " (expected: a map of values)");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        return m;
    }

    /** Refuses keys of {@code given} that the chart does not have, except below an empty or free-form map. */
    private static void check(String origin, String prefix, Map<String, Object> defaults, Map<String, Object> given) {
        for (Map.Entry<String, Object> e : given.entrySet()) {
            String key = prefix + e.getKey();
            if (FREE_FORM.contains(key)) {
                continue;
            }
            if (!defaults.containsKey(e.getKey())) {
                throw new ChartException(origin + ": " + key + ": unknown value (expected: one of "
                        + defaults.keySet().stream().map(k -> prefix + k).toList() + ")");
            }
            Object d = defaults.get(e.getKey());
            if (d instanceof Map<?, ?> dm) {
                if (e.getValue() != null && !(e.getValue() instanceof Map<?, ?>)) {
                    throw new ChartException(origin + ": " + key + ": " + e.getValue() + " (expected: a map)");
                }
                if (!dm.isEmpty() && e.getValue() != null) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> dmap = (Map<String, Object>) dm;
                    @SuppressWarnings("unchecked")
                    Map<String, Object> gmap = (Map<String, Object>) e.getValue();
                    check(origin, key + ".", dmap, gmap);
                }
            } else if (d instanceof List<?> && e.getValue() != null && !(e.getValue() instanceof List<?>)) {
                throw new ChartException(origin + ": " + key + ": " + e.getValue() + " (expected: a list; give lists "
                        + "with -f)");
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static void merge(Map<String, Object> into, Map<String, Object> from) {
        for (Map.Entry<String, Object> e : from.entrySet()) {
            Object old = into.get(e.getKey());
            if (old instanceof Map<?, ?> om && e.getValue() instanceof Map<?, ?> nm) {
                merge((Map<String, Object>) om, (Map<String, Object>) nm);
            } else {
                into.put(e.getKey(), deepCopyValue(e.getValue()));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Object deepCopyValue(Object v) {
        if (v instanceof Map<?, ?> m) {
            return deepCopy((Map<String, Object>) m);
        }
        if (v instanceof List<?> l) {
            List<Object> copy = new ArrayList<>();
            l.forEach(x -> copy.add(deepCopyValue(x)));
            return copy;
        }
        return v;
    }

    private static Map<String, Object> deepCopy(Map<String, Object> m) {
        Map<String, Object> copy = new LinkedHashMap<>();
        m.forEach((k, v) -> copy.put(k, deepCopyValue(v)));
        return copy;
    }

    /** Helm's {@code --set a=1,b=2}: commas separate assignments unless escaped as {@code \,}. */
    private static List<String> splitSet(String set) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < set.length(); i++) {
            char c = set.charAt(i);
            if (c == '\\' && i + 1 < set.length() && set.charAt(i + 1) == ',') {
                cur.append(',');
                i++;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    /** Helm's typing of a {@code --set} value: {@code true}, {@code false}, integers; anything else a string. */
    private static Object scalar(String v) {
        if (v.equals("true") || v.equals("false")) {
            return Boolean.valueOf(v);
        }
        if (v.matches("-?(0|[1-9][0-9]{0,17})")) {
            return Long.valueOf(v);
        }
        return v;
    }
}

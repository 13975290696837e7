package io.jmesh.cli.istioctl;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.jmesh.discovery.analysis.Analyzer;
import io.jmesh.discovery.analysis.Analyzers;
import io.jmesh.discovery.analysis.Level;
import io.jmesh.discovery.analysis.Message;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigError;
import io.jmesh.discovery.config.ConfigParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jmesh analyze}: istioctl's {@code analyze} over files. Reads Istio YAML from files, directories
 * (recursively: {@code *.yaml}, {@code *.yml}, {@code *.json}) and stdin ({@code -}), runs
 * {@link Analyzers#all()} and prints the messages as istioctl does. Exit codes are istioctl's: 0 when no message
 * reaches {@code --failure-threshold}, 79 when one does, 64 for a bad command line, 65 when a file cannot be read
 * or is not YAML.
 */
@Command(name = "analyze", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = AnalyzeCommand.EXIT_INCORRECT_USAGE,
        description = "Analyzes Istio configuration files and prints validation messages (istioctl analyze).")
public final class AnalyzeCommand implements Callable<Integer> {

    /** istioctl's exit code for a bad command line. */
    public static final int EXIT_INCORRECT_USAGE = 64;
    /** istioctl's exit code for input that cannot be read. */
    public static final int EXIT_DATA_ERROR = 65;
    /** istioctl's exit code when analyzers found issues at or above the failure threshold. */
    public static final int EXIT_ANALYZER_FOUND_ISSUES = 79;

    private static final Pattern SUPPRESS = Pattern.compile("([A-Za-z0-9*]+)=(\\S+) (\\S+)");

    @Parameters(paramLabel = "FILE", arity = "0..*", description = "Files or directories to analyze; - for stdin.")
    List<String> positional = new ArrayList<>();

    @Option(names = {"-f", "--filename"}, paramLabel = "FILE|DIR|-", split = ",",
            description = "A file, a directory (read recursively) or - for stdin; repeatable.")
    List<String> files = new ArrayList<>();

    @Option(names = {"-A", "--all-namespaces"}, description = "Report messages of every namespace.")
    boolean allNamespaces;

    @Option(names = {"-n", "--namespace"}, defaultValue = "default", paramLabel = "NS",
            description = "The namespace analyzed, and of objects without one (default: ${DEFAULT-VALUE}).")
    String namespace;

    @Option(names = {"-o", "--output"}, defaultValue = "log", paramLabel = "log|json|yaml",
            description = "Output format: log, json or yaml (default: ${DEFAULT-VALUE}).")
    String output;

    @Option(names = "--failure-threshold", defaultValue = "Error", paramLabel = "LEVEL",
            description = "The lowest level that makes the exit code non-zero: Error, Warning or Info "
                    + "(default: ${DEFAULT-VALUE}).")
    String failureThreshold;

    @Option(names = "--output-threshold", defaultValue = "Info", paramLabel = "LEVEL",
            description = "The lowest level printed: Error, Warning or Info (default: ${DEFAULT-VALUE}).")
    String outputThreshold;

    @Option(names = {"-S", "--suppress"}, paramLabel = "CODE=Kind name.namespace",
            description = "Leaves out messages of CODE about the named objects (* is a wildcard), e.g. "
                    + "'IST0101=VirtualService reviews.default'; repeatable.")
    List<String> suppress = new ArrayList<>();

    @Option(names = {"-L", "--list-analyzers"}, description = "Lists the analyzers and exits.")
    boolean listAnalyzers;

    private final InputStream stdin;
    private final PrintStream out;
    private final PrintStream err;

    public AnalyzeCommand() {
        this(System.in, System.out, System.err);
    }

    AnalyzeCommand(InputStream stdin, PrintStream out, PrintStream err) {
        this.stdin = stdin;
        this.out = out;
        this.err = err;
    }

    private record Suppression(String code, Pattern resource) {}

    @Override
    public Integer call() {
        if (listAnalyzers) {
            out.println("Available analyzers:");
            for (Analyzer a : Analyzers.all()) {
                out.println("* " + a.name());
            }
            return 0;
        }
        Level failAt = Level.parse(failureThreshold);
        Level printAt = Level.parse(outputThreshold);
        if (failAt == null) {
            return usage("--failure-threshold: " + failureThreshold + " (expected: Error, Warning or Info)");
        }
        if (printAt == null) {
            return usage("--output-threshold: " + outputThreshold + " (expected: Error, Warning or Info)");
        }
        String format = output.toLowerCase(Locale.ROOT);
        if (!List.of("log", "json", "yaml").contains(format)) {
            return usage("--output: " + output + " (expected: log, json or yaml)");
        }
        List<Suppression> suppressions = new ArrayList<>();
        for (String s : suppress) {
            var m = SUPPRESS.matcher(s.trim());
            if (!m.matches()) {
                return usage("--suppress: " + s + " (expected: CODE=Kind name.namespace, e.g. "
                        + "IST0101=VirtualService reviews.default)");
            }
            suppressions.add(new Suppression(m.group(1), glob(m.group(2) + " " + m.group(3))));
        }
        List<String> inputs = new ArrayList<>(files);
        inputs.addAll(positional);
        if (inputs.isEmpty()) {
            return usage("-f: missing (expected: files or directories of Istio YAML, or - for stdin; "
                    + "jmesh analyze reads no cluster)");
        }

        List<Config<?>> configs = new ArrayList<>();
        List<ConfigError> errors = new ArrayList<>();
        List<io.jmesh.discovery.config.ConfigWarning> warnings = new ArrayList<>();
        try {
            for (String input : inputs) {
                if (input.equals("-")) {
                    String yaml = new String(stdin.readAllBytes(), StandardCharsets.UTF_8);
                    add(ConfigParser.parse(Path.of("<stdin>"), yaml, namespace), configs, errors, warnings);
                    continue;
                }
                Path path = Path.of(input);
                if (!Files.exists(path)) {
                    err.println("Error: " + input + ": no such file or directory");
                    return EXIT_DATA_ERROR;
                }
                for (Path file : yamlFiles(path)) {
                    add(ConfigParser.parse(file, Files.readString(file), namespace), configs, errors, warnings);
                }
            }
        } catch (IOException e) {
            err.println("Error: cannot read input: " + e.getMessage());
            return EXIT_DATA_ERROR;
        }
        List<ConfigError> schemaErrors = new ArrayList<>();
        for (ConfigError e : errors) {
            if (e.kind() == null && (e.reason().startsWith("yaml:") || e.reason().startsWith("file:"))) {
                err.println("Error: cannot parse " + e.source() + ": " + e.reason());
                return EXIT_DATA_ERROR;
            }
            schemaErrors.add(e);
        }

        List<Message> shown = new ArrayList<>();
        boolean failed = false;
        for (Message m : Analyzers.analyze(configs, schemaErrors, warnings)) {
            if (!allNamespaces && m.namespace() != null && !m.namespace().equals(namespace)) {
                continue;
            }
            if (suppressed(m, suppressions)) {
                continue;
            }
            if (m.type().level().atLeast(failAt)) {
                failed = true;
            }
            if (m.type().level().atLeast(printAt)) {
                shown.add(m);
            }
        }
        String scope = allNamespaces ? "all namespaces" : "namespace: " + namespace;
        print(format, shown, scope);
        if (failed) {
            err.println("Error: Analyzers found issues when analyzing " + scope + ".");
            err.println("See https://istio.io/latest/docs/reference/config/analysis for more information about "
                    + "causes and resolutions.");
            return EXIT_ANALYZER_FOUND_ISSUES;
        }
        return 0;
    }

    private void print(String format, List<Message> shown, String scope) {
        if (format.equals("log")) {
            if (shown.isEmpty()) {
                out.println("\u2714 No validation issues found when analyzing " + scope + ".");
            }
            for (Message m : shown) {
                out.println(m);
            }
            return;
        }
        List<Map<String, String>> list = new ArrayList<>();
        for (Message m : shown) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("code", m.type().code());
            o.put("documentationUrl", m.type().documentationUrl());
            o.put("level", m.type().level().displayName());
            o.put("message", m.text());
            o.put("origin", m.origin());
            o.put("reference", m.reference());
            list.add(o);
        }
        try {
            ObjectMapper mapper = format.equals("json")
                    ? new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    : new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));
            String text = mapper.writeValueAsString(list);
            out.print(text.endsWith("\n") ? text : text + "\n");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean suppressed(Message m, List<Suppression> suppressions) {
        String dotted = m.kind() + " " + m.name() + "." + m.namespace();
        String slashed = m.kind() + " " + m.namespace() + "/" + m.name();
        for (Suppression s : suppressions) {
            if ((s.code().equals("*") || s.code().equals(m.type().code()))
                    && (s.resource().matcher(dotted).matches() || s.resource().matcher(slashed).matches())) {
                return true;
            }
        }
        return false;
    }

    private static Pattern glob(String text) {
        List<String> parts = new ArrayList<>();
        for (String part : text.split("\\*", -1)) {
            parts.add(Pattern.quote(part));
        }
        return Pattern.compile(String.join(".*", parts));
    }

    private static List<Path> yamlFiles(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            return List.of(path);
        }
        try (Stream<Path> walk = Files.walk(path)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
                    })
                    .sorted()
                    .toList();
        }
    }

    private static void add(ConfigParser.Result result, List<Config<?>> configs, List<ConfigError> errors,
                            List<io.jmesh.discovery.config.ConfigWarning> warnings) {
        configs.addAll(result.configs());
        errors.addAll(result.errors());
        warnings.addAll(result.warnings());
    }

    private int usage(String message) {
        err.println("Error: " + message);
        return EXIT_INCORRECT_USAGE;
    }
}

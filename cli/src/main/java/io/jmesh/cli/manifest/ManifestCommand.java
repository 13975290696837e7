package io.jmesh.cli.manifest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh manifest}: istioctl's {@code manifest} verb. {@code generate} prints the Kubernetes manifests of
 * jmesh, rendered from the Helm chart in the jar ({@code deploy/helm/jmesh}); exit code 1 with the file or flag
 * at fault for a bad value.
 */
@Command(name = "manifest", mixinStandardHelpOptions = true,
        description = "Kubernetes manifests of jmesh (Istio's CRDs, discovery as istiod, webhooks, ingress gateway).",
        subcommands = ManifestCommand.Generate.class)
public final class ManifestCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    /** {@code jmesh manifest generate [--set k=v]... [-f values.yaml]... [--revision REV]}. */
    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Print the Kubernetes manifests (multi-document YAML for kubectl apply -f -), rendered from "
                    + "the Helm chart deploy/helm/jmesh with its values.yaml, the -f files and the --set values.")
    public static final class Generate implements Callable<Integer> {

        @Option(names = "--set", paramLabel = "KEY=VALUE",
                description = "A chart value, e.g. global.image=registry.example/jmesh:0.1 or gateway.enabled=false "
                        + "(repeatable; a,b=c sets several). Unknown keys are refused.")
        List<String> sets = new ArrayList<>();

        @Option(names = {"-f", "--filename"}, paramLabel = "FILE",
                description = "A values file merged over the chart's values.yaml (repeatable), e.g. "
                        + "deploy/helm/jmesh/values-demo.yaml.")
        List<Path> files = new ArrayList<>();

        @Option(names = {"-r", "--revision"}, paramLabel = "REVISION",
                description = "Istio's control plane revision: objects named istiod-REVISION, ..., injecting into "
                        + "namespaces labelled istio.io/rev=REVISION.")
        String revision;

        @Override
        public Integer call() {
            try {
                Chart chart = Chart.fromClasspath();
                System.out.print(Chart.print(chart.render(chart.values(files, sets, revision))));
                System.out.flush();
                return 0;
            } catch (ChartException e) {
                System.err.println("error: " + e.getMessage());
                return 1;
            }
        }
    }
}

package io.jmesh.cli.istioctl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.jmesh.discovery.inject.InjectionSettings;
import io.jmesh.discovery.inject.KubeInject;
import io.jmesh.discovery.inject.SidecarInjector;
import io.jmesh.proxy.config.ConfigException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh kube-inject -f FILE [-o OUT]}: istioctl's manual sidecar injection. Reads Kubernetes YAML (a file or
 * {@code -} for stdin), adds jmesh's sidecar to every workload's pod template and writes the result to stdout or
 * {@code -o}. Exit code 1 with the file, the workload and the field when something cannot be injected (nothing is
 * written then); warnings about settings jmesh does not apply go to stderr.
 */
@Command(name = "kube-inject", mixinStandardHelpOptions = true,
        description = "Inject jmesh's sidecar into Kubernetes workloads (Deployment, StatefulSet, DaemonSet, "
                + "ReplicaSet, ReplicationController, Job, CronJob, Pod, List), as istioctl kube-inject.")
public final class KubeInjectCommand implements Callable<Integer> {

    @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE",
            description = "Input Kubernetes resource filename ('-' for stdin).")
    String filename;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Modified output Kubernetes resource filename (default: stdout).")
    Path output;

    @Option(names = "--injectConfigFile", paramLabel = "FILE",
            description = "Injection configuration (the 'config' of the istio-sidecar-injector ConfigMap): policy, "
                    + "alwaysInjectSelector, neverInjectSelector, injectedAnnotations.")
    Path injectConfigFile;

    @Option(names = "--meshConfigFile", paramLabel = "FILE",
            description = "Mesh configuration (trustDomain; defaultConfig, the ProxyConfig of every sidecar).")
    Path meshConfigFile;

    @Option(names = "--valuesFile", paramLabel = "FILE",
            description = "Injection values (the 'values' of the istio-sidecar-injector ConfigMap): global.hub, "
                    + "global.tag, global.proxy.image, global.proxy.resources, global.proxy.includeIPRanges, ...")
    Path valuesFile;

    @Override
    public Integer call() {
        String input;
        try {
            input = filename.equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                    : Files.readString(Path.of(filename));
        } catch (IOException e) {
            System.err.println("Error: --filename: " + filename + " (expected: a readable file or -: " + e + ")");
            return 1;
        }
        KubeInject.Output out;
        try {
            InjectionSettings settings = InjectionSettings.load(valuesFile, meshConfigFile, injectConfigFile);
            out = new KubeInject(new SidecarInjector(settings)).inject(filename, input);
        } catch (ConfigException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
        out.warnings().stream().distinct().forEach(w -> System.err.println("Warning: " + w));
        if (output == null) {
            System.out.print(out.yaml());
            System.out.flush();
            return 0;
        }
        try {
            Files.writeString(output, out.yaml());
        } catch (IOException e) {
            System.err.println("Error: --output: " + output + " (" + e + ")");
            return 1;
        }
        return 0;
    }
}

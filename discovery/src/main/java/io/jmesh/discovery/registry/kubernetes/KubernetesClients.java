package io.jmesh.discovery.registry.kubernetes;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.jmesh.proxy.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Creates the fabric8 client that discovery's Kubernetes registry and config store share. */
public final class KubernetesClients {

    private KubernetesClients() {}

    /**
     * Returns a client for the cluster of {@code kubeconfig} (its current context), or, when it is
     * {@code null}, for the cluster found as {@code kubectl} finds it: in a pod, the service account's token
     * and CA ({@code /var/run/secrets/kubernetes.io/serviceaccount}); else {@code $KUBECONFIG} or
     * {@code ~/.kube/config}. Nothing is contacted yet. The caller closes the client.
     *
     * @throws ConfigException {@code kubeconfig: PATH (...)} when the file cannot be read or parsed
     */
    public static KubernetesClient create(Path kubeconfig) throws ConfigException {
        Config config;
        if (kubeconfig == null) {
            config = Config.autoConfigure(null);
        } else {
            try {
                config = Config.fromKubeconfig(Files.readString(kubeconfig));
            } catch (IOException e) {
                throw new ConfigException("kubeconfig: " + kubeconfig + " (expected: a readable kubeconfig file; "
                        + e + ")", e);
            } catch (RuntimeException e) {
                throw new ConfigException("kubeconfig: " + kubeconfig + " (expected: a kubeconfig file with a current "
                        + "context; " + e.getMessage() + ")", e);
            }
        }
        return new KubernetesClientBuilder().withConfig(config).build();
    }
}

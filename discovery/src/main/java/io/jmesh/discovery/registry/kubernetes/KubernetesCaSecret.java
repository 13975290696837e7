package io.jmesh.discovery.registry.kubernetes;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.security.ca.CaConfigException;
import io.jmesh.security.ca.CaRoots;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's key and certificates kept in a Kubernetes Secret, so that every replica of discovery signs with
 * the same root (Istio's {@code cacerts} for plugged-in certificates, {@code istio-ca-secret} for its
 * self-signed root). The Secret's keys are the CA directory's files: {@code ca-cert.pem}, {@code ca-key.pem},
 * {@code root-cert.pem}, {@code cert-chain.pem}.
 *
 * <p>{@link #materialize} copies the Secret into a directory that discovery's CA then reads as
 * {@code --ca-dir}. When the Secret does not exist, the first replica generates a self-signed root and
 * creates the Secret; a replica that loses that race (409 Conflict) takes the winner's. The Secret is read
 * at start only: after a rotation in the Secret, restart the replicas.
 */
public final class KubernetesCaSecret {

    private static final Logger logger = LoggerFactory.getLogger(KubernetesCaSecret.class);

    private static final List<String> FILES = List.of(CaRoots.CA_CERT, CaRoots.CA_KEY, CaRoots.ROOT_CERT,
            CaRoots.CERT_CHAIN);

    private KubernetesCaSecret() {}

    /**
     * Writes the CA material of Secret {@code namespace/name} into {@code dir} (created if missing;
     * {@code ca-key.pem} readable by its owner only), creating the Secret with a new self-signed root for
     * {@code trustDomain} first when it does not exist.
     *
     * @throws ConfigException {@code ca-secret: NS/NAME (...)} when the Secret cannot be read or created, or
     *                         lacks {@code ca-cert.pem} or {@code ca-key.pem}
     */
    public static void materialize(KubernetesClient client, String namespace, String name, String trustDomain,
                                   Path dir) throws ConfigException {
        String ref = namespace + '/' + name;
        try {
            Files.createDirectories(dir);
            Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
            if (secret == null) {
                Path fresh = Files.createTempDirectory(dir.getParent() == null ? Path.of(".") : dir.getParent(),
                        ".ca-new");
                CaRoots.loadOrCreate(fresh, trustDomain, Clock.systemUTC());
                Map<String, String> data = new LinkedHashMap<>();
                for (String f : FILES) {
                    Path p = fresh.resolve(f);
                    if (Files.exists(p)) {
                        data.put(f, Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
                    }
                    Files.deleteIfExists(p);
                }
                Files.deleteIfExists(fresh);
                try {
                    secret = client.secrets().inNamespace(namespace).resource(new SecretBuilder().withNewMetadata()
                            .withName(name).withNamespace(namespace).endMetadata().withType("Opaque")
                            .withData(data).build()).create();
                    logger.info("ca-secret: created {} with a new self-signed root for {}", ref, trustDomain);
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        throw e;
                    }
                    // Another replica created it first: sign with its root.
                    secret = client.secrets().inNamespace(namespace).withName(name).get();
                }
            }
            Map<String, String> data = secret == null || secret.getData() == null ? Map.of() : secret.getData();
            for (String required : List.of(CaRoots.CA_CERT, CaRoots.CA_KEY)) {
                if (!data.containsKey(required)) {
                    throw new ConfigException("ca-secret: " + ref + " (expected: a Secret with " + CaRoots.CA_CERT
                            + " and " + CaRoots.CA_KEY + "; " + required + " is missing)");
                }
            }
            for (String f : FILES) {
                Path p = dir.resolve(f);
                Files.deleteIfExists(p);
                String v = data.get(f);
                if (v == null) {
                    continue;
                }
                byte[] bytes = Base64.getDecoder().decode(v.replaceAll("\\s", ""));
                if (f.equals(CaRoots.CA_KEY)) {
                    Files.createFile(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.write(p, bytes);
                } else {
                    Files.writeString(p, new String(bytes, StandardCharsets.US_ASCII));
                }
            }
        } catch (IOException | CaConfigException | IllegalArgumentException e) {
            throw new ConfigException("ca-secret: " + ref + " (" + e.getMessage() + ")", e);
        } catch (KubernetesClientException e) {
            throw new ConfigException("ca-secret: " + ref + " (expected: readable and creatable by discovery's "
                    + "service account; " + e.getMessage() + ")", e);
        }
    }
}

package io.jmesh.discovery.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads TLS credentials from {@code jmesh discovery --credentials-dir DIR}, laid out as Kubernetes Secrets:
 * {@code DIR/<namespace>/<name>/tls.crt}, {@code tls.key} and {@code ca.crt} (the keys of a
 * {@code kubernetes.io/tls} Secret; {@code cert}, {@code key} and {@code cacert}, Istio's generic Secret keys,
 * are read too). A directory with none of these files is skipped; a file larger than
 * {@link #MAX_FILE_BYTES} or unreadable is skipped with a warning (the rest is kept). Stateless; blocks on file
 * I/O: call it off event loops.
 */
public final class CredentialsDirectory {

    private static final Logger logger = LoggerFactory.getLogger(CredentialsDirectory.class);

    /** Largest credential file read, in bytes. */
    public static final long MAX_FILE_BYTES = 1024 * 1024;

    private CredentialsDirectory() {}

    /** Returns every credential under {@code dir}, sorted by namespace and name; empty if {@code dir} is null. */
    public static List<Credential> load(Path dir) {
        List<Credential> out = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        for (Path ns : list(dir)) {
            if (!Files.isDirectory(ns)) {
                continue;
            }
            for (Path secret : list(ns)) {
                if (!Files.isDirectory(secret)) {
                    continue;
                }
                String cert = read(secret, "tls.crt", "cert");
                String key = read(secret, "tls.key", "key");
                String ca = read(secret, "ca.crt", "cacert");
                if (cert != null || key != null || ca != null) {
                    out.add(new Credential(ns.getFileName().toString(), secret.getFileName().toString(), cert, key,
                            ca));
                }
            }
        }
        return out;
    }

    private static List<Path> list(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(out::add);
        } catch (IOException e) {
            logger.warn("credentials: cannot list {}: {}", dir, e.toString());
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }

    private static String read(Path dir, String... names) {
        for (String n : names) {
            Path f = dir.resolve(n);
            if (!Files.isRegularFile(f)) {
                continue;
            }
            try {
                if (Files.size(f) > MAX_FILE_BYTES) {
                    logger.warn("credentials: {}: {} bytes (expected: <= {}); skipped", f, Files.size(f),
                            MAX_FILE_BYTES);
                    return null;
                }
                return Files.readString(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                logger.warn("credentials: cannot read {}: {}", f, e.toString());
                return null;
            }
        }
        return null;
    }
}

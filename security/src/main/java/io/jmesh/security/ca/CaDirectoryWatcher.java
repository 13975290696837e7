package io.jmesh.security.ca;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the CA's material when the files of its directory change (a plugged-in intermediate replaced, a root
 * added to {@code root-cert.pem} for a root transition), as istiod watches its {@code cacerts}. The new material
 * is checked whole before it replaces the old; a bad edit is logged with the file at fault and the CA keeps
 * signing with what it had.
 *
 * <p>Polls the modification times and sizes of the four files every {@code interval} on its own daemon thread.
 */
public final class CaDirectoryWatcher implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(CaDirectoryWatcher.class);

    /** How often the directory is looked at by default. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

    private final Path dir;
    private final CertificateAuthority ca;
    private final Clock clock;
    private final ScheduledExecutorService executor;
    private List<Object> stamp;

    private CaDirectoryWatcher(Path dir, CertificateAuthority ca, Clock clock) {
        this.dir = dir;
        this.ca = ca;
        this.clock = clock;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jmesh-ca-watcher");
            t.setDaemon(true);
            return t;
        });
        this.stamp = stamp();
    }

    /** Starts watching {@code dir}, whose current material {@code ca} already uses. */
    public static CaDirectoryWatcher start(Path dir, CertificateAuthority ca, Duration interval, Clock clock) {
        CaDirectoryWatcher w = new CaDirectoryWatcher(dir, ca, clock);
        long ms = Math.max(1, interval.toMillis());
        w.executor.scheduleWithFixedDelay(w::check, ms, ms, TimeUnit.MILLISECONDS);
        return w;
    }

    /** Looks at the directory now (the poller calls this), reloading if a file changed. */
    public synchronized void check() {
        List<Object> now = stamp();
        if (now.equals(stamp)) {
            return;
        }
        stamp = now;
        try {
            CaRoots roots = CaRoots.load(dir, clock);
            ca.setRoots(roots);
            logger.info("{}: CA material reloaded: {}", dir, roots);
        } catch (CaConfigException e) {
            logger.error("{} (the CA keeps signing with {})", e.getMessage(), ca.roots());
        } catch (RuntimeException e) {
            logger.error("{}: cannot reload the CA material (the CA keeps signing with {})", dir, ca.roots(), e);
        }
    }

    private List<Object> stamp() {
        List<Object> s = new ArrayList<>();
        for (String f : List.of(CaRoots.CA_CERT, CaRoots.CA_KEY, CaRoots.ROOT_CERT, CaRoots.CERT_CHAIN)) {
            Path p = dir.resolve(f);
            try {
                s.add(Files.getLastModifiedTime(p));
                s.add(Files.size(p));
            } catch (IOException e) {
                s.add("missing");
            }
        }
        return s;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}

package io.jmesh.security.agent;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workload certificate and its rotation (Istio's {@code SecretManagerClient}, {@code secretcache.go}).
 *
 * <p>{@link #start()} asks the CA at once. Each certificate is replaced at Istio's rotation time: when
 * {@code graceRatio ± jitter} of its lifetime ({@code expiresAt - createdAt}) is left, with the jitter drawn in
 * {@code [-graceRatioJitter, +graceRatioJitter]} so that a fleet does not renew at one moment. Every attempt makes
 * a new key pair and CSR; only the CSR goes to the CA. A failed attempt is retried after
 * {@code initialBackoff}, doubling up to {@code maxBackoff}; meanwhile the current certificate is still served,
 * even past its expiry (a proxy then fails handshakes, which the log explains). A new certificate goes to every
 * listener ({@link #addListener}).
 *
 * <p>Threading: thread-safe. Listeners run on the thread that completed the CA call, one at a time, in order.
 */
public final class SecretCache implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(SecretCache.class);

    private final AgentOptions options;
    private final CaClient ca;
    private final AgentScheduler scheduler;
    private final DoubleSupplier random;
    private final List<Consumer<WorkloadSecret>> listeners = new CopyOnWriteArrayList<>();

    private WorkloadSecret current;
    private AgentScheduler.Scheduled next;
    private Instant nextAttempt;
    private boolean inFlight;
    private boolean closed;
    private int failures;
    private Throwable lastError;
    private long versions;
    private long attempts;

    /**
     * @param random a source of doubles in {@code [0, 1)} for the rotation jitter (tests pass a constant)
     */
    public SecretCache(AgentOptions options, CaClient ca, AgentScheduler scheduler, DoubleSupplier random) {
        this.options = options;
        this.ca = ca;
        this.scheduler = scheduler;
        this.random = random;
    }

    public SecretCache(AgentOptions options, CaClient ca, AgentScheduler scheduler) {
        this(options, ca, scheduler, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** Adds a listener for every new certificate; if one is already there, the listener gets it at once. */
    public void addListener(Consumer<WorkloadSecret> listener) {
        WorkloadSecret now;
        synchronized (this) {
            listeners.add(listener);
            now = current;
        }
        if (now != null) {
            listener.accept(now);
        }
    }

    public void removeListener(Consumer<WorkloadSecret> listener) {
        listeners.remove(listener);
    }

    /** Asks the CA for the first certificate now. */
    public void start() {
        fetch();
    }

    /** The certificate being served, or {@code null} before the CA first answered. */
    public synchronized WorkloadSecret current() {
        return current;
    }

    /** When the next CA call is due (a rotation or a retry), or {@code null} while one is in flight. */
    public synchronized Instant nextAttempt() {
        return nextAttempt;
    }

    /** CA calls that failed in a row since the last success. */
    public synchronized int consecutiveFailures() {
        return failures;
    }

    /** CA calls made (successful or not). */
    public synchronized long attempts() {
        return attempts;
    }

    /** The error of the last failed CA call, or {@code null}. */
    public synchronized Throwable lastError() {
        return lastError;
    }

    /**
     * Istio's {@code rotateTime}: the delay from {@code now} until {@code expiresAt - ratio * lifetime}, where ratio is
     * {@code graceRatio + jitter} clamped to [0, 1]; never negative.
     */
    static Duration rotateDelay(Instant createdAt, Instant expiresAt, Instant now, double graceRatio,
                                double graceRatioJitter, double random01, boolean jitterUp) {
        double jitter = random01 * graceRatioJitter * (jitterUp ? 1 : -1);
        double ratio = Math.min(1, Math.max(0, graceRatio + jitter));
        long lifetime = Duration.between(createdAt, expiresAt).toMillis();
        Instant at = expiresAt.minusMillis((long) (ratio * lifetime));
        Duration d = Duration.between(now, at);
        return d.isNegative() ? Duration.ZERO : d;
    }

    private void fetch() {
        String spiffeId = options.spiffeId();
        KeyPair keys;
        synchronized (this) {
            if (closed || inFlight) {
                return;
            }
            inFlight = true;
            next = null;
            nextAttempt = null;
            attempts++;
        }
        try {
            keys = WorkloadCsr.generateKeyPair(options.keyType());
            String csr = WorkloadCsr.csrPem(keys, spiffeId);
            ca.sign(csr, options.certTtl()).whenComplete((chain, error) -> {
                if (error != null) {
                    onFailure(error);
                } else {
                    onChain(keys, chain);
                }
            });
        } catch (RuntimeException e) {
            onFailure(e);
        }
    }

    private void onChain(KeyPair keys, List<String> chain) {
        X509Certificate leaf;
        try {
            leaf = WorkloadSecret.parseLeaf(chain.get(0));
        } catch (GeneralSecurityException | RuntimeException e) {
            onFailure(new IllegalStateException("cert_chain[0]: not a PEM certificate (" + e.getMessage() + ")", e));
            return;
        }
        if (!leaf.getPublicKey().equals(keys.getPublic())) {
            onFailure(new IllegalStateException("cert_chain[0]: certifies another public key than the CSR's"));
            return;
        }
        WorkloadSecret s;
        synchronized (this) {
            inFlight = false;
            if (closed) {
                return;
            }
            Instant now = scheduler.now();
            s = new WorkloadSecret(chain, WorkloadCsr.privateKeyPem(keys.getPrivate()), chain.get(chain.size() - 1),
                                   leaf, now, leaf.getNotAfter().toInstant(), ++versions);
            current = s;
            failures = 0;
            lastError = null;
            boolean up = random.getAsDouble() < 0.5;
            Duration delay = rotateDelay(now, s.expiresAt(), now, options.graceRatio(), options.graceRatioJitter(),
                                         random.getAsDouble(), up);
            scheduleLocked(delay);
        }
        logger.info("{}: new certificate {}; rotation at {}", options.spiffeId(), s, nextAttempt());
        for (Consumer<WorkloadSecret> l : listeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                logger.warn("{}: a certificate listener failed", options.spiffeId(), e);
            }
        }
    }

    private void onFailure(Throwable error) {
        Duration delay;
        WorkloadSecret serving;
        int failures;
        synchronized (this) {
            inFlight = false;
            if (closed) {
                return;
            }
            failures = ++this.failures;
            lastError = error;
            long factor = 1L << Math.min(failures - 1, 30);
            Duration d = options.initialBackoff().multipliedBy(factor);
            delay = d.compareTo(options.maxBackoff()) > 0 || d.isNegative() ? options.maxBackoff() : d;
            serving = current;
            scheduleLocked(delay);
        }
        if (serving == null) {
            logger.warn("{}: CA call {} failed, retrying in {}: {}", options.spiffeId(), failures, delay,
                        error.toString());
        } else if (serving.expiresAt().isBefore(scheduler.now())) {
            logger.error("{}: CA call {} failed, retrying in {}; the served certificate expired at {}: {}",
                         options.spiffeId(), failures, delay, serving.expiresAt(), error.toString());
        } else {
            logger.warn("{}: CA call {} failed, retrying in {}; still serving version {} until {}: {}",
                        options.spiffeId(), failures, delay, serving.version(), serving.expiresAt(),
                        error.toString());
        }
    }

    private void scheduleLocked(Duration delay) {
        nextAttempt = scheduler.now().plus(delay);
        next = scheduler.schedule(this::fetch, delay);
    }

    /** Stops rotating; the CA client and scheduler belong to the caller. */
    @Override
    public void close() {
        AgentScheduler.Scheduled n;
        synchronized (this) {
            closed = true;
            n = next;
            next = null;
        }
        if (n != null) {
            n.cancel();
        }
    }
}

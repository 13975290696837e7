package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import java.util.ArrayList;
import java.util.List;

/**
 * The objects under analysis and the messages found so far. Not thread-safe: one analysis runs on one thread.
 */
public final class AnalysisContext {

    /** The DNS suffix of short host names, as Istio's default {@code cluster.local}. */
    public static final String DOMAIN_SUFFIX = "svc.cluster.local";

    private final List<Config<?>> configs;
    private final List<Message> messages = new ArrayList<>();

    public AnalysisContext(List<Config<?>> configs) {
        this.configs = List.copyOf(configs);
    }

    /** All objects, in the order read. */
    public List<Config<?>> configs() {
        return configs;
    }

    /** The objects of {@code kind}, in the order read. */
    public List<Config<?>> configs(ConfigKind kind) {
        List<Config<?>> out = new ArrayList<>();
        for (Config<?> c : configs) {
            if (c.meta().kind() == kind) {
                out.add(c);
            }
        }
        return out;
    }

    /** Reports a message of {@code type} about {@code config}, the template filled with {@code args}. */
    public void report(MessageType type, Config<?> config, Object... args) {
        messages.add(new Message(type, config.meta().kind().kindName(), config.meta().namespace(),
                config.meta().name(), config.meta().source(), type.format(args)));
    }

    /** Adds a ready message. */
    public void report(Message message) {
        messages.add(message);
    }

    /** The messages found so far. */
    public List<Message> messages() {
        return List.copyOf(messages);
    }

    /**
     * Istio's {@code ResolveShortnameToFQDN}: a name without a dot is a service of {@code namespace}
     * ({@code reviews} becomes {@code reviews.default.svc.cluster.local}); other names are kept.
     */
    public static String fqdn(String host, String namespace) {
        if (host == null || host.isEmpty() || host.contains(".") || host.startsWith("*")) {
            return host;
        }
        return host + '.' + namespace + '.' + DOMAIN_SUFFIX;
    }

    /** Returns whether host pattern {@code a} (maybe {@code *.x} or {@code *}) and {@code b} can name one host. */
    public static boolean hostsMatch(String a, String b) {
        if (a.equals(b) || a.equals("*") || b.equals("*")) {
            return true;
        }
        if (a.startsWith("*") && b.endsWith(a.substring(1))) {
            return true;
        }
        return b.startsWith("*") && a.endsWith(b.substring(1));
    }

    /** Returns whether {@code pattern} (maybe {@code *.x} or {@code *}) covers the host {@code host}. */
    public static boolean covers(String pattern, String host) {
        if (pattern.equals(host) || pattern.equals("*")) {
            return true;
        }
        return pattern.startsWith("*") && host.endsWith(pattern.substring(1)) && !host.startsWith("*");
    }
}

package io.jmesh.proxy.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's log levels under Envoy's logger names, for the admin's {@code /logging} (see
 * <a href="https://www.envoyproxy.io/docs/envoy/latest/operations/admin#post--logging">Envoy's admin</a>).
 *
 * <p>Each Envoy logger name ({@code router}, {@code upstream}, {@code http}, ...) stands for the Java packages that
 * do that work in jmesh ({@link #LOGGERS}). Levels are Envoy's: {@code trace, debug, info, warning} (or
 * {@code warn}), {@code error, critical, off}; {@code critical} is SLF4J's error.
 *
 * <p>Levels are read through SLF4J whatever the backend. They change at run time only when SLF4J is bound to
 * {@code java.util.logging} (slf4j-jdk14, as {@code jmesh proxy} runs): a JUL logger's level applies to the package
 * and everything under it. With another backend {@link #set} answers why it cannot. Thread-safe; a change is a
 * few map writes, cheap enough for an event loop.
 */
public final class LogLevels {

    private static final Logger logger = LoggerFactory.getLogger(LogLevels.class);

    /** Envoy's logger names, in Envoy's order, with the Java logger names (packages) each one sets. */
    public static final Map<String, List<String>> LOGGERS = loggers();

    /** Envoy's level names, lowest first. */
    public static final List<String> LEVELS = List.of("trace", "debug", "info", "warning", "error", "critical", "off");

    /** The JUL loggers whose level was set: JUL keeps loggers weakly, so a level would be lost with its logger. */
    private static final Map<String, java.util.logging.Logger> HELD = new ConcurrentHashMap<>();

    private LogLevels() {}

    private static Map<String, List<String>> loggers() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put("admin", List.of("io.jmesh.proxy.admin"));
        m.put("config", List.of("io.jmesh.proxy.xds", "io.jmesh.proxy.config"));
        m.put("conn_handler", List.of("io.jmesh.proxy.listener"));
        m.put("connection", List.of("io.jmesh.proxy.network", "io.jmesh.proxy.transport"));
        m.put("dubbo", List.of("io.jmesh.proxy.protocol.dubbo"));
        m.put("ext_authz", List.of("io.jmesh.proxy.filter.extauthz"));
        m.put("filter", List.of("io.jmesh.proxy.filter"));
        m.put("grpc", List.of("io.grpc"));
        m.put("http", List.of("io.jmesh.proxy.network.http", "io.jmesh.proxy.stream"));
        m.put("io", List.of("io.netty"));
        m.put("jwt", List.of("io.jmesh.proxy.filter.jwt"));
        m.put("main", List.of("io.jmesh.proxy.server", "io.jmesh.proxy.extension", "io.jmesh.proxy.internal"));
        m.put("pool", List.of("io.jmesh.proxy.upstream.pool"));
        m.put("ratelimit", List.of("io.jmesh.proxy.filter.ratelimit"));
        m.put("rbac", List.of("io.jmesh.proxy.filter.rbac"));
        m.put("router", List.of("io.jmesh.proxy.router", "io.jmesh.proxy.filter.router"));
        m.put("rpc", List.of("io.jmesh.proxy.protocol", "io.jmesh.proxy.network.rpc"));
        m.put("secret", List.of("io.jmesh.proxy.tls", "io.jmesh.security"));
        m.put("stats", List.of("io.jmesh.proxy.telemetry", "io.jmesh.proxy.filter.stats"));
        m.put("tracing", List.of("io.jmesh.proxy.telemetry.tracing"));
        m.put("upstream", List.of("io.jmesh.proxy.upstream"));
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Whether levels can change at run time: SLF4J is bound to java.util.logging. */
    public static boolean changeable() {
        return LoggerFactory.getILoggerFactory().getClass().getName().equals("org.slf4j.jul.JDK14LoggerFactory");
    }

    /** The current level of every Envoy logger, in {@link #LOGGERS}' order. */
    public static Map<String, String> current() {
        Map<String, String> out = new LinkedHashMap<>();
        LOGGERS.forEach((name, javaNames) -> out.put(name, level(javaNames.get(0))));
        return out;
    }

    /** Envoy's level name of one SLF4J logger, from what it has enabled. */
    static String level(String javaName) {
        Logger l = LoggerFactory.getLogger(javaName);
        if (l.isTraceEnabled()) {
            return "trace";
        }
        if (l.isDebugEnabled()) {
            return "debug";
        }
        if (l.isInfoEnabled()) {
            return "info";
        }
        if (l.isWarnEnabled()) {
            return "warning";
        }
        return l.isErrorEnabled() ? "error" : "off";
    }

    /**
     * Sets levels, all or nothing: {@code changes} maps Envoy logger names to Envoy level names.
     *
     * @throws IllegalArgumentException naming the unknown logger or level, or why levels cannot change here;
     *                                  nothing is changed then
     */
    public static void set(Map<String, String> changes) {
        List<Map.Entry<List<String>, java.util.logging.Level>> todo = new ArrayList<>();
        for (Map.Entry<String, String> c : changes.entrySet()) {
            List<String> javaNames = LOGGERS.get(c.getKey());
            if (javaNames == null) {
                throw new IllegalArgumentException("unknown logger name: " + c.getKey()
                        + " (expected one of: " + String.join(", ", LOGGERS.keySet()) + ")");
            }
            todo.add(Map.entry(javaNames, julLevel(c.getValue())));
        }
        if (!changeable()) {
            throw new IllegalArgumentException("log levels cannot change at run time: SLF4J is bound to "
                    + LoggerFactory.getILoggerFactory().getClass().getName()
                    + " (expected: java.util.logging through slf4j-jdk14, as jmesh proxy runs)");
        }
        for (Map.Entry<String, String> c : changes.entrySet()) {
            logger.info("change log level: name='{}' level='{}'", c.getKey(), c.getValue());
        }
        for (Map.Entry<List<String>, java.util.logging.Level> t : todo) {
            for (String javaName : t.getKey()) {
                HELD.computeIfAbsent(javaName, java.util.logging.Logger::getLogger).setLevel(t.getValue());
            }
        }
    }

    /** Sets every logger to {@code level} (Envoy's {@code /logging?level=}). */
    public static void setAll(String level) {
        Map<String, String> all = new LinkedHashMap<>();
        LOGGERS.keySet().forEach(n -> all.put(n, level));
        set(all);
    }

    /** java.util.logging's level for an Envoy level name, as slf4j-jdk14 maps SLF4J's levels. */
    static java.util.logging.Level julLevel(String level) {
        return switch (level) {
            case "trace" -> java.util.logging.Level.FINEST;
            case "debug" -> java.util.logging.Level.FINE;
            case "info" -> java.util.logging.Level.INFO;
            case "warning", "warn" -> java.util.logging.Level.WARNING;
            case "error", "critical" -> java.util.logging.Level.SEVERE;
            case "off" -> java.util.logging.Level.OFF;
            default -> throw new IllegalArgumentException("unknown log level: " + level
                    + " (expected one of: " + String.join(", ", LEVELS) + ")");
        };
    }
}

package io.jmesh.cli;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The log backend of every {@code jmesh} process: SLF4J over {@code java.util.logging} (slf4j-jdk14), so that
 * levels can change while the process runs ({@code jmesh proxy-config log}, the proxy admin's {@code /logging}),
 * printing lines as slf4j-simple did: {@code [thread] LEVEL logger - message}, then the stack trace.
 *
 * <p>It reads slf4j-simple's settings, so existing command lines keep working:
 * {@code -Dorg.slf4j.simpleLogger.defaultLogLevel=warn} (trace, debug, info, warn, error, off),
 * {@code -Dorg.slf4j.simpleLogger.log.NAME=LEVEL} for one logger and everything under it, and
 * {@code -Dorg.slf4j.simpleLogger.logFile=PATH} ({@code System.err}, the default, or {@code System.out}); the file
 * is read at each line, so a command may set it after start-up ({@code jmesh demo} does). A
 * {@code -Djava.util.logging.config.file} takes over from all of this. Libraries that log to java.util.logging
 * themselves (gRPC) print the same way.
 */
final class Logging {

    static final String PREFIX = "org.slf4j.simpleLogger.";
    private static volatile boolean configured;

    private Logging() {}

    /** Installs the handler on the root logger, once per JVM; later calls do nothing. */
    static synchronized void configure() {
        if (configured) {
            return;
        }
        configured = true;
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) {
            return;
        }
        // Only the root's handlers go (the JDK's two-line console format): loggers and handlers that others
        // set up before (tests do) stay.
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.setLevel(level(System.getProperty(PREFIX + "defaultLogLevel", "info"), Level.INFO));
        root.addHandler(new SimpleFormatHandler());
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith(PREFIX + "log.")) {
                String loggerName = name.substring((PREFIX + "log.").length());
                HELD.add(Logger.getLogger(loggerName));
                Logger.getLogger(loggerName).setLevel(level(System.getProperty(name), null));
            }
        }
    }

    /** JUL keeps loggers weakly; a logger whose level was set is held here so that the level stays. */
    private static final java.util.List<Logger> HELD = new java.util.concurrent.CopyOnWriteArrayList<>();

    private static Level level(String name, Level otherwise) {
        return switch (name.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "trace" -> Level.FINEST;
            case "debug" -> Level.FINE;
            case "info" -> Level.INFO;
            case "warn", "warning" -> Level.WARNING;
            case "error" -> Level.SEVERE;
            case "off" -> Level.OFF;
            default -> otherwise;
        };
    }

    /** SLF4J's level name of a JUL level, as slf4j-jdk14 maps them. */
    static String levelName(Level level) {
        int v = level.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        if (v >= Level.FINE.intValue()) {
            return "DEBUG";
        }
        return "TRACE";
    }

    /** Writes each record as slf4j-simple's default format, to the stream the logFile setting names now. */
    static final class SimpleFormatHandler extends Handler {
        private String openPath;
        private PrintStream file;

        SimpleFormatHandler() {
            setFormatter(new Formatter() {
                @Override
                public String format(LogRecord r) {
                    StringBuilder sb = new StringBuilder(128).append('[').append(Thread.currentThread().getName())
                            .append("] ").append(levelName(r.getLevel())).append(' ').append(r.getLoggerName())
                            .append(" - ").append(formatMessage(r)).append(System.lineSeparator());
                    if (r.getThrown() != null) {
                        StringWriter w = new StringWriter();
                        r.getThrown().printStackTrace(new PrintWriter(w));
                        sb.append(w);
                    }
                    return sb.toString();
                }
            });
        }

        @Override
        public void publish(LogRecord record) {
            if (!isLoggable(record)) {
                return;
            }
            String line = getFormatter().format(record);
            synchronized (this) {
                PrintStream out = stream();
                out.print(line);
                out.flush();
            }
        }

        private PrintStream stream() {
            String target = System.getProperty(PREFIX + "logFile", "System.err");
            if (target.equals("System.err")) {
                return System.err;
            }
            if (target.equals("System.out")) {
                return System.out;
            }
            if (!target.equals(openPath)) {
                close();
                try {
                    file = new PrintStream(new FileOutputStream(target, true), false, StandardCharsets.UTF_8);
                    openPath = target;
                } catch (IOException e) {
                    return System.err;
                }
            }
            return file;
        }

        @Override
        public synchronized void flush() {
            if (file != null) {
                file.flush();
            }
        }

        @Override
        public synchronized void close() {
            if (file != null) {
                file.close();
                file = null;
                openPath = null;
            }
        }
    }
}

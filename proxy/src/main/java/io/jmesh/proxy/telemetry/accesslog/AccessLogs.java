package io.jmesh.proxy.telemetry.accesslog;

import io.jmesh.proxy.stream.StreamInfo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StderrAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.telemetry.Stats;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds {@link AccessLog}s from Envoy's {@code access_log} configs (in {@code HttpConnectionManager} and
 * {@code TcpProxy}) and writes their lines.
 *
 * <p>Supported loggers: {@code envoy.access_loggers.file} ({@code FileAccessLog}: {@code path},
 * {@code log_format} with {@code text_format}, {@code text_format_source.inline_string} or
 * {@code json_format}, and the deprecated {@code format} and {@code json_format} fields),
 * {@code envoy.access_loggers.stdout} ({@code StdoutAccessLog}) and {@code envoy.access_loggers.stderr}
 * ({@code StderrAccessLog}). Without a format, Envoy's {@link AccessLogFormatter#DEFAULT_FORMAT} is used;
 * JSON formats write one object per line. A {@code filter} ({@link AccessLogFilters}: Envoy's CEL
 * expression filter as istiod writes it for a Telemetry's {@code accessLogging[].filter}, status code, duration,
 * response flags, and/or) decides which entries a logger writes.
 *
 * <p>Threading: {@link AccessLog#log} formats on the caller's thread and offers the line to one bounded
 * queue ({@value #QUEUE_CAPACITY} lines) drained by a single daemon writer thread, so it never blocks; when
 * the queue is full the line is dropped and counted in {@link #droppedLines()}. Files are opened for
 * append, once per path, and stay open for the life of the process.
 */
public final class AccessLogs {

    private static final Logger logger = LoggerFactory.getLogger(AccessLogs.class);

    /** Lines queued at most before new lines are dropped. */
    public static final int QUEUE_CAPACITY = 65536;

    static final String FILE = "envoy.access_loggers.file";
    static final String STDOUT = "envoy.access_loggers.stdout";
    static final String STDERR = "envoy.access_loggers.stderr";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private static final LongAdder dropped = new LongAdder();
    private static final Map<String, Sink> files = new ConcurrentHashMap<>();
    private static final Sink stdout = new Sink("stdout", System.out);
    private static final Sink stderr = new Sink("stderr", System.err);

    static {
        Thread writer = new Thread(AccessLogs::drain, "jmesh-access-log-writer");
        writer.setDaemon(true);
        writer.start();
    }

    private AccessLogs() {}

    /**
     * Builds one log that writes to every configured logger, in order, with the built-in loggers and those of
     * {@link ExtensionRegistry#loadDefault()}.
     *
     * @return {@link AccessLog#NOOP} for an empty list
     * @throws ConfigException for an unknown logger type, a bad typed config or a bad format, with the path
     *         {@code access_log[i]...}
     */
    public static AccessLog create(List<io.envoyproxy.envoy.config.accesslog.v3.AccessLog> configs)
            throws ConfigException {
        return create(configs, ExtensionRegistry.loadDefault(),
                ExtensionContext.of(() -> null, new Stats(), null, ServerLifecycle.NONE));
    }

    /**
     * As {@link #create(List)}, with the access loggers ({@link AccessLoggerFactory#KIND}) of {@code registry}; their
     * factories get {@code context}.
     */
    public static AccessLog create(List<io.envoyproxy.envoy.config.accesslog.v3.AccessLog> configs,
                                   ExtensionRegistry registry, ExtensionContext context) throws ConfigException {
        List<AccessLog> logs = new ArrayList<>(configs.size());
        for (int i = 0; i < configs.size(); i++) {
            try {
                logs.add(createOne(configs.get(i), registry, context));
            } catch (ConfigException e) {
                throw e.under("access_log[" + i + "]");
            }
        }
        if (logs.isEmpty()) {
            return AccessLog.NOOP;
        }
        if (logs.size() == 1) {
            return logs.get(0);
        }
        List<AccessLog> all = List.copyOf(logs);
        return entry -> {
            for (AccessLog log : all) {
                try {
                    log.log(entry);
                } catch (RuntimeException e) {
                    logger.warn("access log {} failed: {}", log, e.toString());
                }
            }
        };
    }

    /** Blocks until every line queued before this call has been written and flushed. Not for event loops. */
    public static void flush() {
        CountDownLatch done = new CountDownLatch(1);
        try {
            queue.put(done);
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Lines dropped since start because the queue was full. */
    public static long droppedLines() {
        return dropped.sum();
    }

    private static AccessLog createOne(io.envoyproxy.envoy.config.accesslog.v3.AccessLog config,
                                       ExtensionRegistry registry, ExtensionContext context) throws ConfigException {
        java.util.function.Predicate<StreamInfo> filter = config.hasFilter()
                ? AccessLogFilters.create(config.getFilter()) : null;
        AccessLog log = createUnfiltered(config, registry, context);
        if (filter == null) {
            return log;
        }
        return entry -> {
            if (filter.test(entry)) {
                log.log(entry);
            }
        };
    }

    private static AccessLog createUnfiltered(io.envoyproxy.envoy.config.accesslog.v3.AccessLog config,
                                              ExtensionRegistry registry, ExtensionContext context)
            throws ConfigException {
        Any typed = config.getTypedConfig();
        String typeUrl = typed.getTypeUrl();
        AccessLoggerFactory factory = registry.find(AccessLoggerFactory.KIND, config.getName(),
                typeUrl.isEmpty() ? null : typed);
        if (factory != null) {
            AccessLog log = factory.create(typed, context);
            if (log != null) {
                return log;
            }
        }
        String inner = ExtensionRegistry.typeUrl(typed);
        throw new ConfigException("typed_config.type_url: " + (inner == null ? "\"\"" : inner)
                + " (expected: an access_logger of " + registry.names(AccessLoggerFactory.KIND) + " with its config; name: "
                + (config.getName().isEmpty() ? "\"\"" : config.getName()) + ")");
    }

    /** {@value #FILE}. */
    public static final class FileLoggerFactory implements AccessLoggerFactory {
        @Override
        public String name() {
            return FILE;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(FileAccessLog.getDescriptor()));
        }

        @Override
        @SuppressWarnings("deprecation") // FileAccessLog.format and json_format are deprecated but still accepted
        public AccessLog create(Any typed, ExtensionContext context) throws ConfigException {
            if (!typed.is(FileAccessLog.class)) {
                return null;
            }
            FileAccessLog file = unpack(typed, FileAccessLog.class);
            if (file.getPath().isEmpty()) {
                throw new ConfigException("typed_config.path: \"\" (expected: a file path)");
            }
            LineFormatter formatter;
            if (file.hasLogFormat()) {
                formatter = lineFormatter(file.getLogFormat(), "typed_config.log_format");
            } else if (file.hasJsonFormat()) {
                formatter = jsonFormatter(file.getJsonFormat(), "typed_config.json_format");
            } else if (!file.getFormat().isEmpty()) {
                formatter = textFormatter(file.getFormat(), "typed_config.format");
            } else {
                formatter = textFormatter(AccessLogFormatter.DEFAULT_FORMAT, "typed_config");
            }
            return new QueueingLog(formatter, fileSink(file.getPath()));
        }
    }

    /** {@value #STDOUT}. */
    public static final class StdoutLoggerFactory implements AccessLoggerFactory {
        @Override
        public String name() {
            return STDOUT;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(StdoutAccessLog.getDescriptor()));
        }

        @Override
        public AccessLog create(Any typed, ExtensionContext context) throws ConfigException {
            if (!typed.is(StdoutAccessLog.class)) {
                return null;
            }
            StdoutAccessLog out = unpack(typed, StdoutAccessLog.class);
            return new QueueingLog(out.hasLogFormat()
                    ? lineFormatter(out.getLogFormat(), "typed_config.log_format")
                    : textFormatter(AccessLogFormatter.DEFAULT_FORMAT, "typed_config"), stdout);
        }
    }

    /** {@value #STDERR}. */
    public static final class StderrLoggerFactory implements AccessLoggerFactory {
        @Override
        public String name() {
            return STDERR;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(StderrAccessLog.getDescriptor()));
        }

        @Override
        public AccessLog create(Any typed, ExtensionContext context) throws ConfigException {
            if (!typed.is(StderrAccessLog.class)) {
                return null;
            }
            StderrAccessLog err = unpack(typed, StderrAccessLog.class);
            return new QueueingLog(err.hasLogFormat()
                    ? lineFormatter(err.getLogFormat(), "typed_config.log_format")
                    : textFormatter(AccessLogFormatter.DEFAULT_FORMAT, "typed_config"), stderr);
        }
    }

    private static <T extends com.google.protobuf.Message> T unpack(Any typed, Class<T> type) throws ConfigException {
        try {
            return typed.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typed.getTypeUrl() + " (expected: a valid message: "
                    + e.getMessage() + ")", e);
        }
    }

    private static Sink fileSink(String path) throws ConfigException {
        Sink existing = files.get(path);
        if (existing != null) {
            return existing;
        }
        try {
            Sink created = new Sink(path, new FileOutputStream(path, true));
            Sink raced = files.putIfAbsent(path, created);
            if (raced != null) {
                created.close();
                return raced;
            }
            return created;
        } catch (IOException e) {
            throw new ConfigException("typed_config.path: " + path + " (expected: a writable file: " + e.getMessage()
                    + ")", e);
        }
    }

    @SuppressWarnings("deprecation") // SubstitutionFormatString.text_format is deprecated but still accepted
    private static LineFormatter lineFormatter(SubstitutionFormatString format, String path)
            throws ConfigException {
        switch (format.getFormatCase()) {
            case TEXT_FORMAT:
                return textFormatter(format.getTextFormat(), path + ".text_format");
            case TEXT_FORMAT_SOURCE:
                if (!format.getTextFormatSource().hasInlineString()) {
                    throw new ConfigException(path + ".text_format_source: "
                            + format.getTextFormatSource().getSpecifierCase() + " (expected: inline_string)");
                }
                return textFormatter(format.getTextFormatSource().getInlineString(),
                        path + ".text_format_source.inline_string");
            case JSON_FORMAT:
                return jsonFormatter(format.getJsonFormat(), path + ".json_format");
            default:
                return textFormatter(AccessLogFormatter.DEFAULT_FORMAT, path);
        }
    }

    private static LineFormatter textFormatter(String format, String path) throws ConfigException {
        try {
            AccessLogFormatter formatter = AccessLogFormatter.parse(format);
            return formatter::format;
        } catch (ConfigException e) {
            throw relocate(e, path);
        }
    }

    /** Replaces the {@code format} path of a {@link AccessLogFormatter#parse} error with the config path. */
    private static ConfigException relocate(ConfigException e, String path) {
        String message = e.getMessage();
        String prefix = "format: ";
        return new ConfigException(path + ": " + (message.startsWith(prefix) ? message.substring(prefix.length())
                : message), e);
    }

    private static LineFormatter jsonFormatter(Struct struct, String path) throws ConfigException {
        Map<String, Object> template = compileStruct(struct, path);
        return entry -> {
            try {
                return JSON.writeValueAsString(render(template, entry)) + "\n";
            } catch (JsonProcessingException e) {
                logger.warn("access log entry cannot be written as JSON: {}", e.toString());
                return "";
            }
        };
    }

    private static Map<String, Object> compileStruct(Struct struct, String path) throws ConfigException {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Value> field : struct.getFieldsMap().entrySet()) {
            String fieldPath = path + "." + field.getKey();
            Value value = field.getValue();
            switch (value.getKindCase()) {
                case STRING_VALUE:
                    try {
                        out.put(field.getKey(), AccessLogFormatter.parse(value.getStringValue()));
                    } catch (ConfigException e) {
                        throw relocate(e, fieldPath);
                    }
                    break;
                case STRUCT_VALUE:
                    out.put(field.getKey(), compileStruct(value.getStructValue(), fieldPath));
                    break;
                case NUMBER_VALUE:
                    out.put(field.getKey(), value.getNumberValue());
                    break;
                case BOOL_VALUE:
                    out.put(field.getKey(), value.getBoolValue());
                    break;
                case NULL_VALUE:
                    out.put(field.getKey(), null);
                    break;
                default:
                    throw new ConfigException(fieldPath + ": " + value.getKindCase()
                            + " (expected: a string, number, bool or nested struct)");
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> render(Map<String, Object> template, StreamInfo entry) {
        Map<String, Object> out = new LinkedHashMap<>();
        template.forEach((k, v) -> {
            if (v instanceof AccessLogFormatter) {
                out.put(k, ((AccessLogFormatter) v).typedValue(entry));
            } else if (v instanceof Map) {
                out.put(k, render((Map<String, Object>) v, entry));
            } else {
                out.put(k, v);
            }
        });
        return out;
    }

    private static void drain() {
        List<Object> batch = new ArrayList<>(256);
        List<Sink> touched = new ArrayList<>();
        for (;;) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, 1023);
            for (Object item : batch) {
                if (item instanceof Line) {
                    Line line = (Line) item;
                    line.sink.write(line.text);
                    if (!touched.contains(line.sink)) {
                        touched.add(line.sink);
                    }
                } else {
                    touched.forEach(Sink::flush);
                    touched.clear();
                    ((CountDownLatch) item).countDown();
                }
            }
            batch.clear();
            if (queue.isEmpty()) {
                touched.forEach(Sink::flush);
                touched.clear();
            }
        }
    }

    @FunctionalInterface
    private interface LineFormatter {
        String format(StreamInfo entry);
    }

    private static final class Line {
        final Sink sink;
        final String text;

        Line(Sink sink, String text) {
            this.sink = sink;
            this.text = text;
        }
    }

    /** An output, only written by the writer thread. */
    private static final class Sink {
        private final String name;
        private final OutputStream out;
        private boolean failed;

        Sink(String name, OutputStream out) {
            this.name = name;
            this.out = out;
        }

        void write(String text) {
            try {
                out.write(text.getBytes(StandardCharsets.UTF_8));
                failed = false;
            } catch (IOException e) {
                if (!failed) {
                    logger.warn("{} access log write failed: {}", name, e.toString());
                    failed = true;
                }
            }
        }

        void flush() {
            try {
                out.flush();
            } catch (IOException e) {
                logger.warn("{} access log flush failed: {}", name, e.toString());
            }
        }

        void close() {
            try {
                out.close();
            } catch (IOException e) {
                logger.debug("{} access log close failed: {}", name, e.toString());
            }
        }
    }

    private static final class QueueingLog implements AccessLog {
        private final LineFormatter formatter;
        private final Sink sink;

        QueueingLog(LineFormatter formatter, Sink sink) {
            this.formatter = formatter;
            this.sink = sink;
        }

        @Override
        public void log(StreamInfo entry) {
            String text;
            try {
                text = formatter.format(entry);
            } catch (RuntimeException e) {
                logger.warn("{} access log entry cannot be formatted: {}", sink.name, e.toString());
                return;
            }
            if (!queue.offer(new Line(sink, text))) {
                dropped.increment();
            }
        }
    }
}

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
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
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
 * <p>Threading, as Envoy's file access log: {@link AccessLog#log} formats on the caller's thread into a reused
 * per-thread buffer and appends the bytes to its output's flush buffer (a lock held only for the copy, never
 * across I/O); one daemon writer thread swaps the buffer out and writes it with one {@code write} when
 * {@value #MIN_FLUSH_BYTES} bytes are buffered, every {@link #FLUSH_INTERVAL_MS} ms, on {@link #flush()}, on
 * {@code ProxyServer} stop and at JVM exit. Entries from one thread reach the file in the order they were
 * logged. A buffer holds at most {@value #MAX_BUFFERED_BYTES} bytes (the output is slower than the traffic):
 * then the entry is dropped and counted in {@link #droppedLines()} and the stat {@value #DROPPED_STAT}.
 * Files are opened for append, once per path, and stay open for the life of the process.
 */
public final class AccessLogs {

    private static final Logger logger = LoggerFactory.getLogger(AccessLogs.class);

    /** Buffered bytes that wake the writer before the interval (as Envoy's file access log: 64 KiB). */
    public static final int MIN_FLUSH_BYTES = 64 * 1024;

    /** Bytes one output buffers at most while its previous batch is being written; beyond, entries are dropped. */
    public static final int MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

    /**
     * The writer writes what is buffered at least this often (Envoy: {@code --file-flush-interval-msec}, 10 s; 1 s
     * keeps {@code kubectl logs} live).
     */
    public static final long FLUSH_INTERVAL_MS = 1000;

    /** Counter of entries dropped because their output's buffer was full. */
    public static final String DROPPED_STAT = "filesystem.write_dropped";

    /** Counter of entries moved into an output's flush buffer (Envoy's name). */
    public static final String BUFFERED_STAT = "filesystem.write_buffered";

    static final String FILE = "envoy.access_loggers.file";
    static final String STDOUT = "envoy.access_loggers.stdout";
    static final String STDERR = "envoy.access_loggers.stderr";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LongAdder dropped = new LongAdder();
    private static final Map<String, Sink> files = new ConcurrentHashMap<>();
    /** Every output, in creation order; only appended to. */
    private static final List<Sink> sinks = new CopyOnWriteArrayList<>();
    private static final Sink stdout = new Sink("stdout", System.out);
    private static final Sink stderr = new Sink("stderr", System.err);
    private static final FastThreadLocal<Scratch> scratch = new FastThreadLocal<>() {
        @Override
        protected Scratch initialValue() {
            return new Scratch();
        }
    };
    /** Flushes asked for ({@link #flush()}) and done by the writer; guarded by {@code flushes}' monitor for waits. */
    private static final Object flushes = new Object();
    private static long flushesRequested;
    private static long flushesDone;
    private static final Thread writer;

    static {
        sinks.add(stdout);
        sinks.add(stderr);
        writer = new Thread(AccessLogs::drain, "jmesh-access-log-writer");
        writer.setDaemon(true);
        writer.start();
        Runtime.getRuntime().addShutdownHook(new Thread(AccessLogs::flushAtExit, "jmesh-access-log-exit-flush"));
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

    /** Blocks until every line logged before this call has been written and flushed. Not for event loops. */
    public static void flush() {
        try {
            awaitFlush(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Lines dropped since start because their output's buffer was full. */
    public static long droppedLines() {
        return dropped.sum();
    }

    /** Asks the writer for a pass over every output and waits for it, at most {@code timeoutMs}. */
    private static boolean awaitFlush(long timeoutMs) throws InterruptedException {
        long deadline = timeoutMs == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (flushes) {
            long mine = ++flushesRequested;
            LockSupport.unpark(writer);
            while (flushesDone < mine) {
                if (deadline == Long.MAX_VALUE) {
                    flushes.wait();
                } else {
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) {
                        return false;
                    }
                    flushes.wait(left);
                }
            }
            return true;
        }
    }

    private static void flushAtExit() {
        try {
            if (!awaitFlush(5000)) {
                logger.warn("access logs not flushed at exit within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
            return new BufferingLog(formatter, fileSink(file.getPath()), context.stats());
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
            return new BufferingLog(out.hasLogFormat()
                    ? lineFormatter(out.getLogFormat(), "typed_config.log_format")
                    : textFormatter(AccessLogFormatter.DEFAULT_FORMAT, "typed_config"), stdout, context.stats());
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
            return new BufferingLog(err.hasLogFormat()
                    ? lineFormatter(err.getLogFormat(), "typed_config.log_format")
                    : textFormatter(AccessLogFormatter.DEFAULT_FORMAT, "typed_config"), stderr, context.stats());
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
            sinks.add(created);
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
            return (entry, out) -> formatter.appendTo(entry, out);
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
        return (entry, out) -> {
            try {
                out.append(JSON.writeValueAsString(render(template, entry))).append('\n');
            } catch (JsonProcessingException e) {
                logger.warn("access log entry cannot be written as JSON: {}", e.toString());
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

    /**
     * The writer: sleeps until woken (a buffer passed {@value #MIN_FLUSH_BYTES} bytes, or {@link #flush()}) or the
     * interval passes, then writes each output's buffer with one write and flushes it.
     */
    private static void drain() {
        long nextTimed = System.nanoTime() + FLUSH_INTERVAL_MS * 1_000_000L;
        for (;;) {
            long requested;
            synchronized (flushes) {
                requested = flushesRequested;
            }
            long now = System.nanoTime();
            if (now - nextTimed >= 0) { // this pass is the interval's: the next is an interval away
                nextTimed = now + FLUSH_INTERVAL_MS * 1_000_000L;
            }
            for (Sink sink : sinks) {
                try {
                    sink.writeBuffered();
                } catch (RuntimeException e) {
                    logger.warn("{} access log write failed: {}", sink.name, e.toString());
                }
            }
            synchronized (flushes) {
                if (requested > flushesDone) {
                    flushesDone = requested;
                    flushes.notifyAll();
                }
                if (flushesRequested > flushesDone) {
                    continue;
                }
            }
            boolean full = false;
            for (Sink sink : sinks) {
                full |= sink.pending() >= MIN_FLUSH_BYTES;
            }
            if (!full) {
                long wait = nextTimed - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(AccessLogs.class, wait);
                }
            }
            if (Thread.interrupted()) {
                return;
            }
        }
    }

    /** Formats one entry into a builder it may reuse; runs on the caller's thread. */
    @FunctionalInterface
    private interface LineFormatter {
        void format(StreamInfo entry, StringBuilder out);
    }

    /** A thread's reused text and byte buffers. */
    private static final class Scratch {
        final StringBuilder text = new StringBuilder(512);
        byte[] bytes = new byte[512];
    }

    /**
     * An output and its flush buffer. Callers {@link #append} under {@code this}' monitor (a copy, never I/O); the
     * writer swaps the buffer with its spare under the monitor and writes outside it.
     */
    private static final class Sink {
        private final String name;
        private final OutputStream out;
        private byte[] buffer = new byte[8192];
        private int length;
        private byte[] spare = new byte[8192];
        private boolean failed;

        Sink(String name, OutputStream out) {
            this.name = name;
            this.out = out;
        }

        /** Copies {@code len} bytes in; false (nothing copied) when the buffer would pass its bound. */
        boolean append(byte[] bytes, int len) {
            boolean wake;
            synchronized (this) {
                int total = length + len;
                if (total > MAX_BUFFERED_BYTES) {
                    return false;
                }
                if (total > buffer.length) {
                    buffer = java.util.Arrays.copyOf(buffer, Math.min(MAX_BUFFERED_BYTES,
                            Math.max(total, buffer.length * 2)));
                }
                System.arraycopy(bytes, 0, buffer, length, len);
                wake = length < MIN_FLUSH_BYTES && total >= MIN_FLUSH_BYTES;
                length = total;
            }
            if (wake) {
                LockSupport.unpark(writer);
            }
            return true;
        }

        synchronized int pending() {
            return length;
        }

        /** Writer thread only: writes what is buffered, if anything, with one write, and flushes. */
        void writeBuffered() {
            byte[] batch;
            int len;
            synchronized (this) {
                if (length == 0) {
                    return;
                }
                batch = buffer;
                len = length;
                buffer = spare;
                length = 0;
            }
            try {
                out.write(batch, 0, len);
                out.flush();
                failed = false;
            } catch (IOException e) {
                if (!failed) {
                    logger.warn("{} access log write failed: {}", name, e.toString());
                    failed = true;
                }
            }
            // Keep a grown buffer only while it is used: after a burst, go back to a small one.
            spare = batch.length > 4 * MIN_FLUSH_BYTES && len < MIN_FLUSH_BYTES ? new byte[8192] : batch;
        }

        void close() {
            try {
                out.close();
            } catch (IOException e) {
                logger.debug("{} access log close failed: {}", name, e.toString());
            }
        }
    }

    private static final class BufferingLog implements AccessLog {
        private final LineFormatter formatter;
        private final Sink sink;
        private final Counter buffered;
        private final Counter droppedStat;

        BufferingLog(LineFormatter formatter, Sink sink, Stats stats) {
            this.formatter = formatter;
            this.sink = sink;
            Stats s = stats == null ? new Stats() : stats;
            this.buffered = s.counter(BUFFERED_STAT);
            this.droppedStat = s.counter(DROPPED_STAT);
        }

        @Override
        public void log(StreamInfo entry) {
            Scratch s = scratch.get();
            StringBuilder text = s.text;
            text.setLength(0);
            try {
                formatter.format(entry, text);
            } catch (RuntimeException e) {
                logger.warn("{} access log entry cannot be formatted: {}", sink.name, e.toString());
                return;
            }
            int len = text.length();
            byte[] bytes = s.bytes;
            if (bytes.length < len) {
                bytes = new byte[Math.max(len, bytes.length * 2)];
                s.bytes = bytes;
            }
            int n = 0;
            for (; n < len; n++) {
                char c = text.charAt(n);
                if (c >= 0x80) {
                    break;
                }
                bytes[n] = (byte) c;
            }
            if (n < len) { // not ASCII: encode the whole line as UTF-8
                bytes = text.toString().getBytes(StandardCharsets.UTF_8);
                len = bytes.length;
            }
            if (text.capacity() > 16384) { // one huge line: do not keep its buffers
                s.text.setLength(0);
                s.text.trimToSize();
                s.bytes = new byte[512];
            }
            if (sink.append(bytes, len)) {
                buffered.inc();
            } else {
                dropped.increment();
                droppedStat.inc();
            }
        }
    }
}

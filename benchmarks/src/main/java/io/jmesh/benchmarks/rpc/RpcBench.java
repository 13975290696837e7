package io.jmesh.benchmarks.rpc;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.dubbo.common.utils.NetUtils;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.config.ProviderConfig;
import com.alipay.sofa.rpc.common.RpcConstants;
import com.alipay.sofa.rpc.config.ServerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;
import com.alipay.sofa.rpc.core.exception.SofaRpcException;
import com.alipay.sofa.rpc.core.invoke.SofaResponseCallback;
import com.alipay.sofa.rpc.core.request.RequestBase;

/**
 * A real SOFARPC 5.13.2 or Dubbo 3.3.6 provider or consumer for {@code benchmarks/scripts/rpc-bench.sh}.
 *
 * <pre>
 * RpcBench provider --protocol bolt|dubbo --port P
 * RpcBench consumer --protocol bolt|dubbo --port P [--concurrency 32] [--mode sync|async] [--payload 64] [--warmup 10] [--duration 20]
 *                   [--watch-pid PID] [--clk-tck 100]
 * </pre>
 *
 * <p>The provider exports {@link EchoService} on 127.0.0.1 (direct mode, no registry; Dubbo version
 * {@code 1.0.0}) and runs until killed. The consumer calls {@code echo} with a fixed ASCII string of
 * {@code --payload} bytes with {@code --concurrency} calls outstanding at any time (a closed loop): in
 * {@code sync} mode from as many threads, each making synchronous calls back to back; in {@code async}
 * mode as chains of callbacks (SOFARPC callback invocations, Dubbo {@link EchoService#echoAsync}), each
 * answer sending the next call. All calls go over the consumer's one connection to 127.0.0.1:P. After the
 * warm-up it records {@code --duration} seconds and prints one line
 * {@code RESULT calls_per_s=.. p50_ms=.. p99_ms=.. p999_ms=.. errors=.. cpu_us_per_call=.. cpu_pct=.. rss_mib=.. total_calls=..}
 * ({@code total_calls}: warm-up included, until the consumer stops);
 * the CPU figures are those of {@code --watch-pid} (utime+stime of /proc/PID/stat over the window; RSS is
 * its VmHWM at the end), {@code -} without one. A call whose answer differs from its argument counts as
 * an error. The process exits when done.
 */
public final class RpcBench {

    private static final String DUBBO_VERSION = "1.0.0";

    private RpcBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: RpcBench provider|consumer --protocol bolt|dubbo --port P ...");
        }
        final Map<String, String> opts = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException(args[i] + " (expected: --name value)");
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        final String protocol = opts.getOrDefault("protocol", "bolt");
        if (!protocol.equals("bolt") && !protocol.equals("dubbo")) {
            throw new IllegalArgumentException("--protocol: " + protocol + " (expected: bolt or dubbo)");
        }
        final int port = Integer.parseInt(required(opts, "port"));
        switch (args[0]) {
            case "provider" -> {
                if (protocol.equals("bolt")) {
                    startBoltProvider(port);
                } else {
                    startDubboProvider(port);
                }
                System.out.println("READY " + protocol + " provider on 127.0.0.1:" + port);
                System.out.flush();
                Thread.currentThread().join();
            }
            case "consumer" -> {
                consume(protocol, port, opts);
                System.exit(0);
            }
            default -> throw new IllegalArgumentException(args[0] + " (expected: provider or consumer)");
        }
    }

    private static String required(Map<String, String> opts, String name) {
        final String v = opts.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    // ---- providers

    private static void startBoltProvider(int port) {
        final ServerConfig server = new ServerConfig().setProtocol("bolt").setHost("127.0.0.1")
                                                      .setBoundHost("127.0.0.1").setPort(port);
        new ProviderConfig<EchoService>()
                .setInterfaceId(EchoService.class.getName())
                .setRef(payload -> payload)
                .setServer(server)
                .setRegister(false)
                .export();
    }

    private static void startDubboProvider(int port) throws Exception {
        final ServiceConfig<EchoService> service = new ServiceConfig<>();
        service.setInterface(EchoService.class);
        service.setRef(payload -> payload);
        service.setVersion(DUBBO_VERSION);
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setHost("127.0.0.1");
        dubbo("rpc-bench-provider").protocol(protocol).service(service).start();
    }

    /** A Dubbo application of its own, direct mode (no registry), without the QoS port. */
    private static DubboBootstrap dubbo(String name) throws Exception {
        pinDubboLoopback();
        final ApplicationConfig app = new ApplicationConfig(name);
        app.setQosEnable(false);
        return DubboBootstrap.newInstance(new FrameworkModel()).application(app).registry(new RegistryConfig("N/A"));
    }

    /** Dubbo rewrites 127.0.0.1 to the machine's first other address (see PEERS.md): pin it to loopback. */
    private static void pinDubboLoopback() throws Exception {
        final Field host = NetUtils.class.getDeclaredField("HOST_ADDRESS");
        host.setAccessible(true);
        host.set(null, "127.0.0.1");
        final Field local = NetUtils.class.getDeclaredField("LOCAL_ADDRESS");
        local.setAccessible(true);
        local.set(null, InetAddress.getByName("127.0.0.1"));
    }

    // ---- consumer

    private static EchoService boltConsumer(int port, boolean callback) {
        return new ConsumerConfig<EchoService>()
                .setInvokeType(callback ? RpcConstants.INVOKER_TYPE_CALLBACK : RpcConstants.INVOKER_TYPE_SYNC)
                .setInterfaceId(EchoService.class.getName())
                .setProtocol("bolt")
                .setDirectUrl("bolt://127.0.0.1:" + port)
                .setRegister(false)
                .setSubscribe(false)
                .setTimeout(5000)
                .refer();
    }

    private static EchoService dubboConsumer(int port) throws Exception {
        final ReferenceConfig<EchoService> reference = new ReferenceConfig<>();
        reference.setInterface(EchoService.class);
        reference.setVersion(DUBBO_VERSION);
        reference.setUrl("dubbo://127.0.0.1:" + port);
        reference.setTimeout(5000);
        reference.setRetries(0);
        dubbo("rpc-bench-consumer").reference(reference).start();
        return reference.get();
    }

    /** Makes one call and reports its answer (or failure) to {@code done}, on any thread. */
    private interface AsyncEcho {
        void call(String payload, BiConsumer<String, Throwable> done);
    }

    private static AsyncEcho asyncEcho(String protocol, int port) throws Exception {
        if (protocol.equals("dubbo")) {
            final EchoService echo = dubboConsumer(port);
            return (payload, done) -> echo.echoAsync(payload).whenComplete(done);
        }
        final EchoService echo = boltConsumer(port, true);
        return (payload, done) -> {
            RpcInvokeContext.getContext().setResponseCallback(new SofaResponseCallback<Object>() {
                @Override
                public void onAppResponse(Object response, String method, RequestBase request) {
                    done.accept((String) response, null);
                }

                @Override
                public void onAppException(Throwable t, String method, RequestBase request) {
                    done.accept(null, t);
                }

                @Override
                public void onSofaException(SofaRpcException e, String method, RequestBase request) {
                    done.accept(null, e);
                }
            });
            try {
                echo.echo(payload);
            } catch (RuntimeException e) {
                done.accept(null, e);
            }
        };
    }

    private static void consume(String protocol, int port, Map<String, String> opts) throws Exception {
        final int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "32"));
        final boolean async = opts.getOrDefault("mode", "sync").equals("async");
        final int payloadBytes = Integer.parseInt(opts.getOrDefault("payload", "64"));
        final long warmupS = Long.parseLong(opts.getOrDefault("warmup", "10"));
        final long durationS = Long.parseLong(opts.getOrDefault("duration", "20"));
        final String watchPid = opts.get("watch-pid");
        final int clkTck = Integer.parseInt(opts.getOrDefault("clk-tck", "100"));

        final String payload = "x".repeat(payloadBytes);
        final Recorder recorder = new Recorder(TimeUnit.SECONDS.toNanos(10), 3);
        final LongAdder errors = new LongAdder();
        final CountDownLatch finished = new CountDownLatch(concurrency);
        // Start the consumer and check one call before the clock starts (Dubbo takes seconds to boot).
        final EchoService syncEcho = async ? null : protocol.equals("bolt") ? boltConsumer(port, false)
                                                                            : dubboConsumer(port);
        final AsyncEcho asyncEcho = async ? asyncEcho(protocol, port) : null;
        final CompletableFuture<String> first = new CompletableFuture<>();
        if (async) {
            asyncEcho.call(payload, (answer, failure) -> {
                if (failure != null) {
                    first.completeExceptionally(failure);
                } else {
                    first.complete(answer);
                }
            });
        } else {
            first.complete(syncEcho.echo(payload));
        }
        if (!payload.equals(first.get(10, TimeUnit.SECONDS))) {
            throw new IllegalStateException("the first call did not echo its payload");
        }
        final long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupS + durationS);
        if (async) {
            final AsyncEcho echo = asyncEcho;
            for (int c = 0; c < concurrency; c++) {
                new AsyncChain(echo, payload, end, recorder, errors, finished).next();
            }
        } else {
            final EchoService echo = syncEcho;
            for (int t = 0; t < concurrency; t++) {
                final Thread caller = new Thread(() -> {
                    try {
                        long now = System.nanoTime();
                        while (now < end) {
                            boolean ok;
                            try {
                                ok = payload.equals(echo.echo(payload));
                            } catch (RuntimeException e) {
                                ok = false;
                            }
                            final long after = System.nanoTime();
                            record(recorder, errors, ok, after - now);
                            now = after;
                        }
                    } finally {
                        finished.countDown();
                    }
                }, "caller-" + t);
                caller.setDaemon(true);
                caller.start();
            }
        }

        Thread.sleep(TimeUnit.SECONDS.toMillis(warmupS));
        recorder.reset();
        errors.reset();
        final long cpu0 = watchPid == null ? 0 : cpuTicks(watchPid);
        final long t0 = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(durationS));
        final Histogram h = recorder.getIntervalHistogram();
        final long t1 = System.nanoTime();
        final long errorCount = errors.sum();
        final long cpu1 = watchPid == null ? 0 : cpuTicks(watchPid);
        finished.await(30, TimeUnit.SECONDS);
        final long total = allCalls.sum();

        final double seconds = (t1 - t0) / 1e9;
        final long calls = h.getTotalCount();
        final StringBuilder out = new StringBuilder("RESULT");
        out.append(String.format(Locale.ROOT, " calls_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%d",
                                 calls / seconds, h.getValueAtPercentile(50) / 1e6,
                                 h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6,
                                 errorCount));
        if (watchPid != null) {
            final double cpuSeconds = (cpu1 - cpu0) / (double) clkTck;
            out.append(String.format(Locale.ROOT, " cpu_us_per_call=%.2f cpu_pct=%.0f rss_mib=%.1f",
                                     calls == 0 ? 0 : cpuSeconds * 1e6 / calls, 100 * cpuSeconds / seconds,
                                     vmHwmKb(watchPid) / 1024.0));
        } else {
            out.append(" cpu_us_per_call=- cpu_pct=- rss_mib=-");
        }
        out.append(" total_calls=").append(total);
        System.out.println(out);
        System.out.flush();
    }

    /** Calls answered since the start, warm-up included. */
    private static final LongAdder allCalls = new LongAdder();

    private static void record(Recorder recorder, LongAdder errors, boolean ok, long nanos) {
        allCalls.increment();
        if (ok) {
            recorder.recordValue(Math.min(nanos, TimeUnit.SECONDS.toNanos(10)));
        } else {
            errors.increment();
        }
    }

    /** One of the {@code --concurrency} outstanding calls of async mode: each answer sends the next call. */
    private static final class AsyncChain implements BiConsumer<String, Throwable> {
        private final AsyncEcho echo;
        private final String payload;
        private final long end;
        private final Recorder recorder;
        private final LongAdder errors;
        private final CountDownLatch finished;
        private long start;

        AsyncChain(AsyncEcho echo, String payload, long end, Recorder recorder, LongAdder errors,
                   CountDownLatch finished) {
            this.echo = echo;
            this.payload = payload;
            this.end = end;
            this.recorder = recorder;
            this.errors = errors;
            this.finished = finished;
        }

        void next() {
            start = System.nanoTime();
            if (start >= end) {
                finished.countDown();
                return;
            }
            echo.call(payload, this);
        }

        @Override
        public void accept(String answer, Throwable failure) {
            record(recorder, errors, failure == null && payload.equals(answer), System.nanoTime() - start);
            if (failure == null) {
                next();
            } else {
                // A failure may come back on the calling thread: go on from another one, after a pause.
                CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS).execute(this::next);
            }
        }
    }

    /** utime + stime of a process (all its threads), in clock ticks. */
    private static long cpuTicks(String pid) throws IOException {
        final String stat = Files.readString(Path.of("/proc", pid, "stat"));
        // Fields after the command name, which is in parentheses and may hold spaces.
        final String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** Peak resident set size of a process, in KiB. */
    private static long vmHwmKb(String pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }
}

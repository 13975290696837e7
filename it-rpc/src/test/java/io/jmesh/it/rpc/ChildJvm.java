package io.jmesh.it.rpc;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real application in a child JVM ({@code java -cp <test classpath> <main> <args>}): started, awaited until it
 * prints {@link #READY}, and killed with {@link #kill()} (SIGKILL, as a crash) or {@link #close()}. Its output goes
 * to this JVM's stdout, each line prefixed with its name. A shutdown hook kills it if the test JVM exits first.
 */
final class ChildJvm implements AutoCloseable {

    /** The line a child prints once it serves. */
    static final String READY = "jmesh-child-ready";

    /** The start of a line a child prints to answer a line of its standard input (see {@link #ask}). */
    static final String REPLY = "jmesh-child-reply ";

    private static final String[] JVM_FLAGS = {
            "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
            "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/java.util=ALL-UNNAMED",
            "--add-opens", "java.base/java.math=ALL-UNNAMED" };

    private final String name;
    private final Process process;
    private final Thread hook;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();

    private ChildJvm(String name, Process process) {
        this.name = name;
        this.process = process;
        this.hook = new Thread(process::destroyForcibly, "kill-" + name);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Starts {@code main} with this test's classpath; with {@code curator4}, Curator 5 jars are replaced by the
     * Curator 4.3.0 jars that the build copies into {@code target/curator4} (SOFARPC's ZooKeeper registry needs
     * them). Waits up to 120 s (a busy machine) for {@link #READY}.
     */
    static ChildJvm start(String name, Class<?> main, boolean curator4, String... args) throws Exception {
        return start(name, List.of(), main, curator4, args);
    }

    /**
     * As {@link #start(String, Class, boolean, String...)}, the command run by {@code launcher} (e.g.
     * {@code ip netns exec NS}: the child's sockets in a network namespace).
     */
    static ChildJvm start(String name, List<String> launcher, Class<?> main, boolean curator4, String... args)
            throws Exception {
        final List<String> cmd = new ArrayList<>(launcher);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(JVM_FLAGS));
        cmd.add("-cp");
        cmd.add(classpath(curator4));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        final ChildJvm child = new ChildJvm(name, p);
        final CountDownLatch ready = new CountDownLatch(1);
        final Thread pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals(READY)) {
                        ready.countDown();
                    } else if (line.startsWith(REPLY)) {
                        child.replies.add(line.substring(REPLY.length()));
                    }
                    System.out.println("[" + name + "] " + line);
                }
            } catch (Exception e) {
                // the child is gone
            }
        }, "out-" + name);
        pump.setDaemon(true);
        pump.start();
        if (!ready.await(120, TimeUnit.SECONDS)) {
            child.close();
            throw new AssertionError(name + " did not start within 120 s (see its output above)");
        }
        return child;
    }

    private static String classpath(boolean curator4) throws Exception {
        final String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        if (!curator4) {
            return cp;
        }
        final List<String> out = new ArrayList<>();
        for (String entry : cp.split(File.pathSeparator)) {
            if (!entry.matches(".*[/\\\\]curator-(client|framework|recipes)-5[^/\\\\]*\\.jar")) {
                out.add(entry);
            }
        }
        try (Stream<Path> jars = Files.list(Path.of(System.getProperty("curator4.dir", "target/curator4")))) {
            jars.map(Path::toString).forEach(out::add);
        }
        return String.join(File.pathSeparator, out);
    }

    /**
     * Writes {@code line} to the child's standard input and returns the next line it prints starting with
     * {@link #REPLY} (without that start); fails after 30 s without one.
     */
    String ask(String line) throws Exception {
        final OutputStream in = process.getOutputStream();
        in.write((line + "\n").getBytes(UTF_8));
        in.flush();
        final String reply = replies.poll(30, TimeUnit.SECONDS);
        if (reply == null) {
            throw new AssertionError(name + " did not answer '" + line + "' within 30 s (see its output above)");
        }
        return reply;
    }

    /** Kills the child at once (SIGKILL): no deregistration, its connections reset by the kernel. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Returns whether the child still runs. */
    boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        try {
            kill();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the child was signalled; not waiting for it
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is exiting: the hook runs anyway
        }
    }

    @Override
    public String toString() {
        return name;
    }
}

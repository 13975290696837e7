package io.jmesh.cli.iptables;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a system command ({@code iptables-restore}, {@code ip}) and returns what it printed. */
@FunctionalInterface
public interface CommandRunner {

    /** What a command did: its exit code, standard output and standard error. */
    record Result(int exit, String stdout, String stderr) {}

    /** Runs {@code argv} with {@code stdin} (may be empty) as its standard input; blocks until it exits. */
    Result run(List<String> argv, String stdin) throws IOException;

    /** Runs commands on this machine, each given at most 60 seconds. */
    static CommandRunner local() {
        return prefixed(List.of());
    }

    /**
     * Runs commands with {@code prefix} before them, e.g. {@code ip netns exec NS} to apply rules inside a network
     * namespace.
     */
    static CommandRunner prefixed(List<String> prefix) {
        return (argv, stdin) -> {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.addAll(argv);
            Process p = new ProcessBuilder(cmd).start();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException(String.join(" ", cmd) + ": no exit after 60 s");
                }
                return new Result(p.exitValue(), out.join(), err.join());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": interrupted", e);
            }
        };
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}

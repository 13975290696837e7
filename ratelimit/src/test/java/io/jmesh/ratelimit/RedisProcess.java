package io.jmesh.ratelimit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import redis.clients.jedis.Jedis;

/**
 * A real {@code redis-server} (Debian's package) on 127.0.0.1 for one test. Redis cannot listen on port 0, and Jedis
 * cannot dial a unix socket, so the port is picked by binding port 0 and closing it, then handed to redis-server; if
 * another process takes it in between and redis-server exits, a new port is tried (three times).
 */
final class RedisProcess implements AutoCloseable {

    private final Process process;
    private final int port;
    private final Path dir;

    private RedisProcess(Process process, int port, Path dir) {
        this.process = process;
        this.port = port;
        this.dir = dir;
    }

    static RedisProcess start() throws Exception {
        Exception last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Path dir = Files.createTempDirectory("redis");
            Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", dir.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (p.isAlive() && System.nanoTime() < deadline) {
                try (Jedis j = new Jedis("127.0.0.1", port, 500)) {
                    if ("PONG".equals(j.ping())) {
                        return new RedisProcess(p, port, dir);
                    }
                } catch (RuntimeException e) {
                    last = e;
                    Thread.sleep(50);
                }
            }
            p.destroyForcibly().waitFor();
            last = new IOException("redis-server did not start on " + port + ": "
                    + Files.readString(dir.resolve("redis.log")), last);
        }
        throw last;
    }

    String hostPort() {
        return "127.0.0.1:" + port;
    }

    Jedis client() {
        return new Jedis("127.0.0.1", port);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}

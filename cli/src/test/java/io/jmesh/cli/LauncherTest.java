package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Poll;

/**
 * The {@code ./jmesh} launcher script itself, run with bash in a copy of the repository's layout: it builds only
 * when a source the CLI is made of changed (never for files under {@code target/}), and two launchers started
 * together run one build. The build command is replaced through {@code JMESH_BUILD_CMD} by a script that counts
 * its runs and takes a second, and {@code JMESH_JAVA=echo} (or a script in a JDK-like directory that echoes its
 * arguments) stands for the JVM; the sidecar settings of {@code jmesh proxy} are also checked on a real JVM.
 */
class LauncherTest {

    @TempDir
    Path tree;

    private Path builds;

    @BeforeEach
    void layout() throws IOException {
        Files.copy(Path.of("..", "jmesh"), tree.resolve("jmesh"));
        write("pom.xml", "<project/>");
        write("cli/pom.xml", "<project/>");
        write("cli/src/main/java/io/jmesh/cli/Main.java", "class Main {}");
        write("proxy/pom.xml", "<project/>");
        write("proxy/src/main/java/io/jmesh/proxy/Proxy.java", "class Proxy {}");
        write("examples/demo/gateway.yaml", "kind: Gateway");
        builds = tree.resolve("builds.log");
        // The stand-in for Maven: records the run, takes a second (so concurrent launchers overlap), leaves a jar.
        write("fake-build.sh", """
                echo build >> builds.log
                sleep 1
                mkdir -p cli/target/lib
                touch cli/target/jmesh-cli-0.1.0-SNAPSHOT.jar
                """);
    }

    @Test
    void buildsOnceForConcurrentStartsThenOnlyWhenASourceChanges() throws Exception {
        Process first = launch("version");
        Process second = launch("version");
        Result a = finish(first);
        Result b = finish(second);
        assertEquals(0, a.exit, a.stderr);
        assertEquals(0, b.exit, b.stderr);
        assertEquals(1, buildCount(), "two launchers started together build once");
        assertTrue(a.stdout.contains("io.jmesh.cli.Main version"), a.stdout);
        assertTrue(b.stdout.contains("io.jmesh.cli.Main version"), b.stdout);
        assertTrue((a.stderr + b.stderr).contains("jmesh: building the CLI (first use;"),
                a.stderr + b.stderr);

        Result again = finish(launch("version"));
        assertEquals(0, again.exit, again.stderr);
        assertEquals(1, buildCount(), "nothing changed: no build");
        assertEquals("", again.stderr);

        // Generated files (JMH's, protoc's) under a module's target/ are not sources.
        Path generated = write("proxy/target/generated-sources/annotations/Gen.java", "class Gen {}");
        Files.setLastModifiedTime(generated, FileTime.from(Instant.now().plusSeconds(60)));
        Result afterGenerated = finish(launch("version"));
        assertEquals(0, afterGenerated.exit, afterGenerated.stderr);
        assertEquals(1, buildCount(), "a file under target/ does not trigger a build");

        Path source = tree.resolve("proxy/src/main/java/io/jmesh/proxy/Proxy.java");
        Files.setLastModifiedTime(source, FileTime.from(Instant.now().plusSeconds(60)));
        Result afterEdit = finish(launch("version"));
        assertEquals(0, afterEdit.exit, afterEdit.stderr);
        assertEquals(2, buildCount(), "an edited source triggers one build");
        assertTrue(afterEdit.stderr.contains("(proxy/src/main/java/io/jmesh/proxy/Proxy.java changed"),
                afterEdit.stderr);
    }

    @Test
    void aFailedBuildShowsItsLogAndExitsNonZero() throws Exception {
        write("fake-build.sh", "echo 'compilation failure: Proxy.java:[3,1] ; expected'; exit 1");
        Result r = finish(launch("version"));
        assertEquals(1, r.exit);
        assertTrue(r.stderr.contains("compilation failure: Proxy.java:[3,1] ; expected"), r.stderr);
        assertTrue(r.stderr.contains("jmesh: build failed (full log: "), r.stderr);
        assertEquals("", r.stdout);
    }

    @Test
    void proxyGetsTheSidecarSettingsAndAClassDataSharingArchiveMadeByItsFirstRun() throws Exception {
        // A JDK whose java prints its arguments and, as a real JVM at exit, writes the archive it is asked for.
        Path java = write("jdk/bin/java", """
                #!/usr/bin/env bash
                echo "$@"
                for a in "$@"; do
                  case "$a" in -XX:ArchiveClassesAtExit=*) echo archive > "${a#-XX:ArchiveClassesAtExit=}" ;; esac
                done
                """);
        assertTrue(java.toFile().setExecutable(true));
        write("jdk/release", "JAVA_VERSION=\"17.0.99\"\n");
        String archive = tree.toAbsolutePath().resolve("cli/target/jmesh-proxy-java17.0.99.jsa").toString();

        Result first = finish(launch(java, List.of(), "proxy", "--config", "envoy.yaml"));
        assertEquals(0, first.exit, first.stderr);
        assertTrue(first.stdout.startsWith("-XX:+UseSerialGC -Xms8m -Xmx32m -XX:ReservedCodeCacheSize=24m "
                + "-XX:ArchiveClassesAtExit=" + archive + "."), first.stdout);
        assertTrue(first.stdout.contains(" io.jmesh.cli.Main proxy --config envoy.yaml"), first.stdout);

        Result second = finish(launch(java, List.of(), "proxy", "--config", "envoy.yaml"));
        assertEquals(0, second.exit, second.stderr);
        assertTrue(second.stdout.contains(" -XX:SharedArchiveFile=" + archive + " "), second.stdout);
        assertEquals("archive\n", Files.readString(Path.of(archive)));
        try (Stream<Path> files = Files.list(tree.resolve("cli/target"))) {
            assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".tmp")).toList(), "the first run's file was adopted");
        }

        // Overrides: JMESH_PROXY_JVM_OPTS replaces the sidecar settings, JMESH_JAVA_OPTS comes after them.
        Result overridden = finish(launch(java, List.of("JMESH_PROXY_JVM_OPTS=-Xmx99m", "JMESH_JAVA_OPTS=-Dlog=x"),
                "proxy", "--config", "envoy.yaml"));
        assertTrue(overridden.stdout.startsWith("-Xmx99m -XX:SharedArchiveFile=" + archive + " -Xlog:cds=off,cds+dynamic=off "
                + "-Dlog=x -cp "), overridden.stdout);
        Result noCds = finish(launch(java, List.of("JMESH_PROXY_CDS=0"), "proxy", "--config", "envoy.yaml"));
        assertFalse(noCds.stdout.contains("-XX:SharedArchiveFile"), noCds.stdout);
        Result help = finish(launch(java, List.of(), "proxy", "--help"));
        assertEquals(0, help.exit, help.stderr);
        assertFalse(help.stdout.contains("Archive"), "a run that starts no sidecar makes no archive: " + help.stdout);
        // A java outside a JDK layout (no release file to name the archive after): the sidecar runs without one.
        Result noJdk = finish(launch(null, List.of(), "proxy", "--config", "envoy.yaml"));
        assertEquals(0, noJdk.exit, noJdk.stderr);
        assertTrue(noJdk.stdout.startsWith("-XX:+UseSerialGC -Xms8m -Xmx32m -XX:ReservedCodeCacheSize=24m -cp "),
                noJdk.stdout);

        // Other commands keep their settings.
        Result version = finish(launch(java, List.of(), "version"));
        assertTrue(version.stdout.startsWith("-XX:+UseSerialGC -Xms64m -Xmx256m -XX:TieredStopAtLevel=4 -cp "), version.stdout);

        // A rebuilt CLI drops the archive: the next sidecar makes a new one.
        Path source = tree.resolve("proxy/src/main/java/io/jmesh/proxy/Proxy.java");
        Files.setLastModifiedTime(source, FileTime.from(Instant.now().plusSeconds(60)));
        Result rebuilt = finish(launch(java, List.of(), "proxy", "--config", "envoy.yaml"));
        assertEquals(2, buildCount());
        assertTrue(rebuilt.stdout.contains(" -XX:ArchiveClassesAtExit=" + archive + "."), rebuilt.stdout);
        assertFalse(Files.exists(Path.of(archive)), "the archive of the old build is gone");
    }

    /**
     * On a real JVM: {@code jmesh proxy} starts with the sidecar settings, answers {@code /ready}, writes its
     * class-data sharing archive when SIGTERM stops it, and the next start maps that archive. The launcher's class
     * path is replaced by the test's (as jars: CDS refuses non-empty directories) in a stand-in {@code bin/java}.
     */
    @Test
    void aRealSidecarStartsWithTheSettingsAndMapsTheArchiveOnItsSecondStart() throws Exception {
        Path java = write("jdk/bin/java", """
                #!/usr/bin/env bash
                opts=()
                while [[ $# -gt 0 ]]; do
                  case "$1" in -cp) shift 2; break ;; *) opts+=("$1"); shift ;; esac
                done
                exec "$REAL_JAVA" "${opts[@]}" -cp "$TEST_CP" "$@"
                """);
        assertTrue(java.toFile().setExecutable(true));
        write("jdk/release", "JAVA_VERSION=\"" + System.getProperty("java.version") + "\"\n");
        write("envoy.yaml", """
                admin:
                  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                static_resources:
                  listeners:
                  - name: tcp
                    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                    filter_chains:
                    - filters:
                      - name: envoy.filters.network.tcp_proxy
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                          stat_prefix: tcp
                          cluster: nowhere
                  clusters:
                  - name: nowhere
                    type: STATIC
                    load_assignment:
                      cluster_name: nowhere
                """);
        List<String> env = List.of("REAL_JAVA=" + Path.of(System.getProperty("java.home"), "bin", "java"),
                "TEST_CP=" + jarClassPath());
        String archive = tree.toAbsolutePath().resolve("cli/target/jmesh-proxy-java" + System.getProperty("java.version")
                + ".jsa").toString();

        Sidecar first = Sidecar.start(launch(java, env, true, "proxy", "--config", "envoy.yaml", "--status-port", "-1",
                "--health-port", "-1", "--drain-time", "0", "--concurrency", "1"));
        List<String> jvmArgs = List.of(Files.readString(Path.of("/proc", Long.toString(first.process.pid()), "cmdline"))
                .split("\0"));
        assertTrue(jvmArgs.containsAll(List.of("-XX:+UseSerialGC", "-Xmx32m", "-XX:ReservedCodeCacheSize=24m",
                "-XX:ArchiveClassesAtExit=" + archive + "." + first.process.pid() + ".tmp")), jvmArgs.toString());
        first.stop();
        assertTrue(Files.size(Path.of(archive + "." + first.process.pid() + ".tmp")) > 0, "archive written at exit");

        Sidecar second = Sidecar.start(launch(java, env, true, "proxy", "--config", "envoy.yaml", "--status-port", "-1",
                "--health-port", "-1", "--drain-time", "0", "--concurrency", "1"));
        try {
            String maps = Files.readString(Path.of("/proc", Long.toString(second.process.pid()), "maps"));
            assertTrue(maps.contains(archive), "the archive is mapped");
        } finally {
            second.stop();
        }
    }

    /** A started sidecar whose admin answered {@code /ready} with 200. */
    private record Sidecar(Process process) {
        static Sidecar start(Process p) throws Exception {
            Sidecar s = new Sidecar(p);
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                StringBuilder seen = new StringBuilder();
                String admin = JmeshProcess.await(out, Pattern.compile("jmesh proxy: admin on (\\S+)"), seen);
                Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "sidecar-output");
                drain.setDaemon(true);
                drain.start();
                HttpClient http = HttpClient.newHttpClient();
                HttpRequest ready = HttpRequest.newBuilder(URI.create("http://" + admin + "/ready")).build();
                Poll.until(() -> {
                    try {
                        return http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                    } catch (IOException e) {
                        return false;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }, "/ready 200 on " + admin, java.time.Duration.ofSeconds(60));
                return s;
            } catch (Exception | Error e) {
                p.destroyForcibly();
                throw e;
            }
        }

        void stop() throws InterruptedException {
            process.destroy();
            assertTrue(process.waitFor(120, TimeUnit.SECONDS), "sidecar stopped on SIGTERM");
        }
    }

    /** The test class path with every directory packed as a jar (class-data sharing takes jars only). */
    private String jarClassPath() throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> out = new ArrayList<>();
        int n = 0;
        for (String entry : cp.split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!Files.isDirectory(p)) {
                out.add(entry);
                continue;
            }
            Path jar = tree.resolve("cp/" + (n++) + ".jar");
            Files.createDirectories(jar.getParent());
            try (OutputStream file = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(file);
                    Stream<Path> files = Files.walk(p)) {
                for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                    zip.putNextEntry(new JarEntry(p.relativize(f).toString().replace('\\', '/')));
                    Files.copy(f, zip);
                    zip.closeEntry();
                }
            }
            out.add(jar.toString());
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private Process launch(String... args) throws IOException {
        return launch(null, List.of(), false, args);
    }

    private Process launch(Path java, List<String> env, String... args) throws IOException {
        return launch(java, env, false, args);
    }

    /**
     * Runs the launcher with {@code java} as JMESH_JAVA ({@code echo} when null) and extra NAME=VALUE variables;
     * {@code merged}: standard error into standard output.
     */
    private Process launch(Path java, List<String> env, boolean merged, String... args) throws IOException {
        List<String> command = new java.util.ArrayList<>(List.of("bash", tree.resolve("jmesh").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tree.toFile()).redirectErrorStream(merged);
        pb.environment().put("JMESH_BUILD_CMD", "bash fake-build.sh");
        pb.environment().put("JMESH_JAVA", java == null ? "echo" : java.toString());
        for (String e : env) {
            pb.environment().put(e.substring(0, e.indexOf('=')), e.substring(e.indexOf('=') + 1));
        }
        return pb.start();
    }

    private record Result(int exit, String stdout, String stderr) {}

    private static Result finish(Process p) throws Exception {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher did not finish");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private long buildCount() throws IOException {
        return Files.exists(builds) ? Files.readAllLines(builds).size() : 0;
    }

    private Path write(String path, String content) throws IOException {
        Path p = tree.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
        return p;
    }
}

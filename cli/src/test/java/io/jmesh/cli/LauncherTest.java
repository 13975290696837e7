package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./jmesh} launcher script itself, run with bash in a copy of the repository's layout: it builds only
 * when a source the CLI is made of changed (never for files under {@code target/}), and two launchers started
 * together run one build. The build command is replaced through {@code JMESH_BUILD_CMD} by a script that counts
 * its runs and takes a second, and {@code JMESH_JAVA=echo} stands for the JVM.
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

    private Process launch(String... args) throws IOException {
        List<String> command = new java.util.ArrayList<>(List.of("bash", tree.resolve("jmesh").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tree.toFile());
        pb.environment().put("JMESH_BUILD_CMD", "bash fake-build.sh");
        pb.environment().put("JMESH_JAVA", "echo");
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

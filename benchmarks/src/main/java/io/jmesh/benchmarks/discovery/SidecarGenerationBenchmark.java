package io.jmesh.benchmarks.discovery;

import com.google.protobuf.Message;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.TypeUrls;
import io.jmesh.discovery.xds.XdsGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time to generate one sidecar's full xDS config (CDS, EDS, LDS, RDS) from a mesh of
 * {@link #services} services made by {@link MeshConfigGenerator}: what discovery does per proxy
 * on every push. Issue 3's goal: at most 10 ms for 1,000 services.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class SidecarGenerationBenchmark {

    @Param({"100", "1000"})
    public int services;

    private MeshSnapshot snapshot;
    private ProxyNode proxy;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        MeshConfigGenerator gen = MeshConfigGenerator.of(services);
        Path dir = Files.createTempDirectory("sidecar-generation");
        try {
            gen.write(dir);
            snapshot = MeshConfigGenerator.load(dir);
        } finally {
            delete(dir);
        }
        proxy = ProxyNode.of(PilotLoad.node(gen, 0));
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Every type, as a push to a newly connected sidecar computes it. */
    @Benchmark
    public Map<String, Map<String, Message>> fullConfig() {
        return XdsGenerator.generateAll(proxy, snapshot);
    }

    /** Only the route configurations, what a VirtualService change needs. */
    @Benchmark
    public Map<String, Message> routesOnly() {
        return XdsGenerator.generate(TypeUrls.ROUTE, proxy, snapshot);
    }
}

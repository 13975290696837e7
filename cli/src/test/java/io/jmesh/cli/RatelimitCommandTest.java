package io.jmesh.cli;

import static io.jmesh.cli.JmeshProcess.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/** {@code jmesh ratelimit} as a process: serves gRPC from envoyproxy/ratelimit YAML, refuses a bad file, stops on SIGTERM. */
class RatelimitCommandTest {

    @Test
    void servesAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("limits.yaml"), """
                domain: edge
                descriptors:
                  - key: generic_key
                    value: everything
                    rate_limit: { unit: day, requests_per_unit: 1 }
                """);
        Process p = jmesh("ratelimit", "--config", cfg.toString(), "--grpc-addr", "127.0.0.1:0");
        StringBuilder seen = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            Pattern banner = Pattern.compile("jmesh ratelimit: RateLimitService on 127\\.0\\.0\\.1:(\\d+), domains \\[edge\\]");
            String port = null;
            for (String line; port == null && (line = r.readLine()) != null; ) {
                seen.append(line).append('\n');
                Matcher m = banner.matcher(line);
                if (m.find()) {
                    port = m.group(1);
                }
            }
            assertTrue(port != null, seen.toString());
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(port)).usePlaintext()
                    .build();
            try {
                RateLimitRequest req = RateLimitRequest.newBuilder().setDomain("edge").addDescriptors(
                        RateLimitDescriptor.newBuilder().addEntries(RateLimitDescriptor.Entry.newBuilder()
                                .setKey("generic_key").setValue("everything"))).build();
                var rls = RateLimitServiceGrpc.newBlockingStub(ch);
                assertEquals(RateLimitResponse.Code.OK, rls.shouldRateLimit(req).getOverallCode());
                assertEquals(RateLimitResponse.Code.OVER_LIMIT, rls.shouldRateLimit(req).getOverallCode());
            } finally {
                ch.shutdownNow();
            }
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), seen.toString());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void badConfigExitsWithTheReason(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("bad.yaml"), "domain: edge\ndescriptors:\n  - value: x\n");
        Process p = jmesh("ratelimit", "--config", cfg.toString(), "--grpc-addr", "127.0.0.1:0");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("error: " + cfg + ": descriptors[0].key: null (expected: a non-empty string)"), out);
    }
}

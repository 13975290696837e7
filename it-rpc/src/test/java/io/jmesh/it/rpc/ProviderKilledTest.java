package io.jmesh.it.rpc;

import static io.jmesh.it.rpc.RpcMesh.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.core.exception.SofaRpcException;

/**
 * Two providers of one service, each with its sidecar; a consumer calls through its sidecar from a few threads
 * without pause; one provider process is killed (SIGKILL; its sidecar stays, as when a container crashes in its
 * pod, and its ZooKeeper node stays until its session expires). Calls move to the survivor at once: only calls in
 * flight on the killed process fail, with the protocol's own error (Dubbo {@code RpcException}, SOFARPC
 * {@code SofaRpcException}); nothing hangs.
 */
class ProviderKilledTest {

    private static final int THREADS = 4;

    @TempDir
    Path dir;

    private RpcMesh mesh;
    private DubboBootstrap dubbo;
    private ConsumerConfig<HelloService> sofa;

    @AfterEach
    void stop() throws Exception {
        if (dubbo != null) {
            dubbo.stop();
        }
        if (sofa != null) {
            sofa.unRefer();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    /** Starts provider apps "survivor" and "victim" of {@code main}, each with a sidecar; returns the victim. */
    private ChildJvm twoProviders(Class<?> main, boolean curator4, String survivorIp, String victimIp)
            throws Exception {
        mesh = RpcMesh.start(dir, "");
        final int survivorPort = RpcMesh.freePort();
        final int victimPort = RpcMesh.freePort();
        mesh.provider("survivor", main, curator4, survivorIp, survivorPort);
        final ChildJvm victim = mesh.provider("victim", main, curator4, victimIp, victimPort);
        RpcMesh.inbound(mesh.providerSidecar("survivor", survivorIp), survivorIp, survivorPort);
        RpcMesh.inbound(mesh.providerSidecar("victim", victimIp), victimIp, victimPort);
        return victim;
    }

    @Test
    void dubboCallsMoveToTheSurvivor() throws Exception {
        final ChildJvm victim = twoProviders(DubboProviderMain.class, false, "127.0.0.41", "127.0.0.42");
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        dubbo = DubboApps.consumer(RpcMesh.outbound(mesh.consumerSidecar("consumer", "127.0.0.43"),
                RpcMesh.DUBBO_PORT), reference);
        final GreetingService greeting = reference.get();
        killUnderLoad(victim, name -> greeting.greet(name), RpcException.class);
    }

    @Test
    void sofaRpcCallsMoveToTheSurvivor() throws Exception {
        final ChildJvm victim = twoProviders(SofaProviderMain.class, true, "127.0.0.51", "127.0.0.52");
        sofa = SofaApps.consumer(RpcMesh.outbound(mesh.consumerSidecar("consumer", "127.0.0.53"), RpcMesh.BOLT_PORT));
        final HelloService hello = sofa.refer();
        killUnderLoad(victim, name -> hello.sayHello(name, 1), SofaRpcException.class);
    }

    /**
     * Calls until both providers have answered, kills {@code victim} under load, and checks what the callers saw:
     * every failure is a {@code protocolError} of a call started before the kill ended (at most one per thread),
     * and the survivor answers every call after it.
     */
    private void killUnderLoad(ChildJvm victim, Function<String, String> call, Class<? extends Exception> protocolError)
            throws Exception {
        await("both providers answering", () -> {
            final Set<String> seen = ConcurrentHashMap.newKeySet();
            for (int i = 0; i < 20; i++) {
                try {
                    final String a = call.apply("x");
                    seen.add(a.substring(0, a.indexOf(' ')));
                } catch (RuntimeException e) {
                    return false; // endpoints not pushed yet
                }
            }
            return seen.equals(Set.of("survivor", "victim"));
        });

        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger survivorAfterKill = new AtomicInteger();
        final AtomicLong killedAt = new AtomicLong(Long.MAX_VALUE);
        // Workers only record what they see; every assertion is made on the test thread (an AssertionError thrown
        // in a worker would be lost with it).
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> notFromSurvivor = new ConcurrentLinkedQueue<>();
        final List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final Thread thread = new Thread(() -> {
                while (running.get()) {
                    final long start = System.nanoTime();
                    try {
                        final String answer = call.apply("c" + calls.incrementAndGet());
                        if (start > killedAt.get()) {
                            if (answer.startsWith("survivor ")) {
                                survivorAfterKill.incrementAndGet();
                            } else {
                                notFromSurvivor.add(answer);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add((start < killedAt.get() ? "in flight: " : "AFTER THE KILL: ")
                                + (protocolError.isInstance(e) ? "" : "not a protocol error: ") + e);
                    }
                }
            }, "caller-" + t);
            thread.start();
            threads.add(thread);
        }
        await("calls under load", () -> calls.get() > 200);
        victim.kill();
        killedAt.set(System.nanoTime());
        await("300 calls answered by the survivor after the kill", () -> survivorAfterKill.get() >= 300);
        running.set(false);
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
            assertTrue(!thread.isAlive(), thread + " hangs");
        }
        System.out.printf("provider killed under load: %d calls from %d threads, %d failed, %d answered by the"
                + " survivor after the kill: %s%n", calls.get(), THREADS, failures.size(), survivorAfterKill.get(),
                failures);
        assertEquals(List.of(), List.copyOf(notFromSurvivor), "calls started after the kill answered by the victim");
        assertTrue(failures.size() <= THREADS, failures.toString());
        for (String f : failures) {
            assertTrue(f.startsWith("in flight: ") && !f.contains("not a protocol error"), failures.toString());
        }
    }
}

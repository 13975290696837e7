package io.jmesh.security.agent;

import java.io.IOException;
import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent: a {@link SecretCache} that gets and rotates the workload certificate from the CA, served by an
 * {@link SdsServer} on a Unix domain socket. It serves any Envoy-compatible proxy ({@code jmesh agent}) or the
 * proxy it is embedded in ({@code jmesh proxy} with CA flags).
 *
 * <pre>{@code
 * NodeAgent agent = NodeAgent.start(AgentOptions.builder().namespace("default").serviceAccount("reviews").build(),
 *         IstioCaClient.create("istiod:15012", caRoot, tokenFile), Path.of(NodeAgent.DEFAULT_SDS_SOCKET),
 *         AgentScheduler.system());
 * }</pre>
 */
public final class NodeAgent implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(NodeAgent.class);

    /** Istio's SDS socket, relative to the working directory as pilot-agent's {@code ./var/run/...}. */
    public static final String DEFAULT_SDS_SOCKET = "./var/run/secrets/workload-spiffe-uds/socket";

    private final AgentOptions options;
    private final CaClient ca;
    private final AgentScheduler scheduler;
    private final SecretCache secrets;
    private final SdsServer sds;

    private NodeAgent(AgentOptions options, CaClient ca, AgentScheduler scheduler, SecretCache secrets, SdsServer sds) {
        this.options = options;
        this.ca = ca;
        this.scheduler = scheduler;
        this.secrets = secrets;
        this.sds = sds;
    }

    /**
     * Binds the SDS socket and asks the CA for the first certificate. The agent owns {@code ca} and
     * {@code scheduler} and closes them on {@link #close()}.
     *
     * @throws IOException if the socket cannot be bound (nothing is left running then)
     */
    public static NodeAgent start(AgentOptions options, CaClient ca, Path sdsSocket, AgentScheduler scheduler)
            throws IOException {
        SecretCache secrets = new SecretCache(options, ca, scheduler);
        return start(options, ca, sdsSocket, scheduler, secrets);
    }

    /** As {@link #start(AgentOptions, CaClient, Path, AgentScheduler)} with a given cache (tests fix its jitter). */
    static NodeAgent start(AgentOptions options, CaClient ca, Path sdsSocket, AgentScheduler scheduler,
                           SecretCache secrets) throws IOException {
        SdsServer sds;
        try {
            sds = SdsServer.start(sdsSocket, secrets);
        } catch (IOException | RuntimeException e) {
            ca.close();
            scheduler.close();
            throw e;
        }
        logger.info("node agent for {}: SDS on {}", options.spiffeId(), sdsSocket);
        secrets.start();
        return new NodeAgent(options, ca, scheduler, secrets, sds);
    }

    public AgentOptions options() {
        return options;
    }

    public SecretCache secrets() {
        return secrets;
    }

    public SdsServer sds() {
        return sds;
    }

    @Override
    public void close() {
        sds.close();
        secrets.close();
        ca.close();
        scheduler.close();
    }
}

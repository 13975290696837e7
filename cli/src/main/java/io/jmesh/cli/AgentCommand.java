package io.jmesh.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.jmesh.security.agent.AgentOptions;
import io.jmesh.security.agent.AgentScheduler;
import io.jmesh.security.agent.IstioCaClient;
import io.jmesh.security.agent.KeyType;
import io.jmesh.security.agent.NodeAgent;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code jmesh agent}: the node agent on its own, for any Envoy-compatible proxy. It gets the workload certificate
 * from the CA and serves it over SDS on a Unix domain socket (secrets {@code default} and {@code ROOTCA}, as
 * Istio's pilot-agent), rotating it before expiry. Exit code 2 for bad flags; SIGTERM stops it with exit 0.
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = "Run the node agent: workload certificates from the CA, served over SDS on a Unix socket.")
final class AgentCommand implements Callable<Integer> {

    @Mixin
    AgentFlags flags = new AgentFlags();

    @CommandLine.Option(names = "--sds-socket", paramLabel = "PATH", defaultValue = NodeAgent.DEFAULT_SDS_SOCKET,
            description = "Serve SDS on this Unix domain socket (default: ${DEFAULT-VALUE}, Istio's).")
    Path sdsSocket;

    @Override
    public Integer call() throws Exception {
        if (flags.caAddress == null) {
            System.err.println("error: --ca-address: missing (expected: HOST:PORT of the CA, e.g. istiod:15012)");
            return 2;
        }
        NodeAgent agent;
        try {
            agent = flags.start(sdsSocket);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        } catch (java.io.IOException e) {
            System.err.println("error: --sds-socket: " + sdsSocket + " (expected: a path where a Unix socket can be "
                    + "bound: " + e + ")");
            return 1;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onTerm(stop::countDown);
        System.err.println("jmesh agent: " + agent.options().spiffeId() + " SDS on unix:" + sdsSocket);
        agent.secrets().addListener(s -> System.err.println("jmesh agent: certificate version " + s.version()
                + " serial " + s.leaf().getSerialNumber().toString(16) + " until " + s.expiresAt()));
        stop.await();
        agent.close();
        return 0;
    }

    /** The flags {@code jmesh agent} and {@code jmesh proxy} share to reach the CA and name the workload. */
    static final class AgentFlags {

        @CommandLine.Option(names = "--ca-address", paramLabel = "HOST:PORT",
                description = "The CA (istio.v1.auth.IstioCertificateService), e.g. istiod.istio-system.svc:15012.")
        String caAddress;

        @CommandLine.Option(names = "--ca-root", paramLabel = "FILE",
                description = "PEM root certificate(s) the CA's serving certificate must chain to (the mesh root); "
                        + "without it the CA is reached in plaintext.")
        Path caRoot;

        @CommandLine.Option(names = "--token-file", paramLabel = "FILE",
                description = "Bearer token sent to the CA as 'authorization: Bearer <token>', re-read on each call "
                        + "(e.g. /var/run/secrets/tokens/istio-token).")
        Path tokenFile;

        @CommandLine.Option(names = "--trust-domain", paramLabel = "DOMAIN", defaultValue = "cluster.local",
                description = "SPIFFE trust domain (default: ${DEFAULT-VALUE}).")
        String trustDomain;

        @CommandLine.Option(names = "--namespace", paramLabel = "NS",
                description = "The workload's namespace (jmesh agent: default 'default'; jmesh proxy: from --node-id).")
        String namespace;

        @CommandLine.Option(names = "--service-account", paramLabel = "SA", defaultValue = "default",
                description = "The workload's service account (default: ${DEFAULT-VALUE}).")
        String serviceAccount;

        @CommandLine.Option(names = "--cert-ttl", paramLabel = "DURATION", defaultValue = "24h",
                description = "Validity asked of the CA, e.g. 24h, 90m (default: ${DEFAULT-VALUE}, Istio's SECRET_TTL).")
        String certTtl;

        @CommandLine.Option(names = "--key-type", paramLabel = "TYPE", defaultValue = "EC",
                description = "Workload key: EC (P-256) or RSA (2048 bits) (default: ${DEFAULT-VALUE}).")
        String keyType;

        /** The options, with {@code defaultNamespace} when {@code --namespace} is not given. */
        AgentOptions options(String defaultNamespace) {
            KeyType type = switch (keyType.toUpperCase(java.util.Locale.ROOT)) {
                case "EC" -> KeyType.EC_P256;
                case "RSA" -> KeyType.RSA_2048;
                default -> throw new IllegalArgumentException("--key-type: " + keyType + " (expected: EC or RSA)");
            };
            try {
                return AgentOptions.builder().trustDomain(trustDomain)
                        .namespace(namespace != null ? namespace : defaultNamespace)
                        .serviceAccount(serviceAccount).keyType(type).certTtl(goDuration("--cert-ttl", certTtl))
                        .build();
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                m = m.replaceFirst("^trustDomain:", "--trust-domain:").replaceFirst("^namespace:", "--namespace:")
                        .replaceFirst("^serviceAccount:", "--service-account:").replaceFirst("^certTtl:", "--cert-ttl:");
                throw new IllegalArgumentException(m, e);
            }
        }

        /** Starts the agent on {@code socket}. */
        NodeAgent start(Path socket) throws java.io.IOException {
            return start(socket, "default");
        }

        NodeAgent start(Path socket, String defaultNamespace) throws java.io.IOException {
            AgentOptions options = options(defaultNamespace);
            return NodeAgent.start(options, IstioCaClient.create(caAddress, caRoot, tokenFile), socket,
                                   AgentScheduler.system());
        }
    }

    private static final Pattern GO_DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

    /** A Go duration as Istio's flags take them: {@code 24h}, {@code 1h30m}, {@code 90s}, {@code 500ms}. */
    static Duration goDuration(String flag, String text) {
        Matcher m = GO_DURATION.matcher(text);
        double millis = 0;
        int end = 0;
        while (m.find() && m.start() == end) {
            double v = Double.parseDouble(m.group(1));
            millis += v * switch (m.group(2)) {
                case "ms" -> 1;
                case "s" -> 1_000;
                case "m" -> 60_000;
                default -> 3_600_000;
            };
            end = m.end();
        }
        if (end == 0 || end != text.length() || millis <= 0) {
            throw new IllegalArgumentException(flag + ": " + text + " (expected: a positive duration such as 24h, "
                                               + "90m or 3600s)");
        }
        return Duration.ofMillis((long) millis);
    }
}

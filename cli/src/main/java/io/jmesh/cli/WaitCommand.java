package io.jmesh.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh wait}: Istio's {@code pilot-agent wait}, the {@code postStart} hook of an injected sidecar with
 * {@code holdApplicationUntilProxyStarts}: polls the proxy's readiness URL until it answers 200 (exit 0) or the
 * timeout passes (exit 1), so that the kubelet starts the application only once the proxy is ready.
 */
@Command(name = "wait", mixinStandardHelpOptions = true,
        description = "Wait until the sidecar is ready (as pilot-agent wait): poll --url until it answers 200.")
final class WaitCommand implements Callable<Integer> {

    @Option(names = "--url", defaultValue = "http://127.0.0.1:15021/healthz/ready", paramLabel = "URL",
            description = "Readiness URL (default: ${DEFAULT-VALUE}).")
    String url;

    @Option(names = "--timeoutSeconds", defaultValue = "60", paramLabel = "SECONDS",
            description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--periodMillis", defaultValue = "500", paramLabel = "MILLIS",
            description = "Time between attempts (default: ${DEFAULT-VALUE}).")
    int periodMillis;

    @Option(names = "--requestTimeoutMillis", defaultValue = "500", paramLabel = "MILLIS",
            description = "Timeout of one attempt (default: ${DEFAULT-VALUE}).")
    int requestTimeoutMillis;

    @Override
    public Integer call() throws Exception {
        URI uri;
        try {
            uri = URI.create(url);
            if (uri.getScheme() == null || !uri.getScheme().startsWith("http")) {
                throw new IllegalArgumentException();
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: --url: " + url + " (expected: an http:// URL)");
            return 2;
        }
        if (timeoutSeconds < 1 || periodMillis < 1 || requestTimeoutMillis < 1) {
            System.err.println("error: --timeoutSeconds, --periodMillis, --requestTimeoutMillis: "
                    + timeoutSeconds + ", " + periodMillis + ", " + requestTimeoutMillis + " (expected: > 0)");
            return 2;
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(requestTimeoutMillis)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        String last = "no attempt";
        while (true) {
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(uri)
                        .timeout(Duration.ofMillis(requestTimeoutMillis)).GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    System.err.println("jmesh wait: " + url + " is ready");
                    return 0;
                }
                last = "HTTP " + r.statusCode();
            } catch (java.io.IOException e) {
                last = e.toString();
            }
            if (System.nanoTime() + Duration.ofMillis(periodMillis).toNanos() > deadline) {
                System.err.println("error: " + url + " not ready after " + timeoutSeconds + "s (last: " + last + ")");
                return 1;
            }
            Thread.sleep(periodMillis);
        }
    }
}

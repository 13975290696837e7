package io.jmesh.proxy.telemetry.tracing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;

/**
 * Sends spans to a Zipkin collector as Zipkin v2 JSON ({@code POST collector_endpoint}, {@code application/json},
 * Envoy's {@code HTTP_JSON}) to a host that {@code collector_cluster}'s load balancer picks per report, with the
 * JDK's HTTP client (HTTP/1.1, plaintext) on the tracing thread. A report is counted in
 * {@code tracing.zipkin.reports_sent} (2xx), {@code reports_failed} (any other answer or an I/O error) or
 * {@code reports_skipped_no_cluster}. Thread-safe.
 */
final class ZipkinExporter extends BatchingExporter {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(ZipkinExporter.class);
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).followRedirects(HttpClient.Redirect.NEVER).build();
    private static final JsonFactory JSON = new JsonFactory();

    private final String endpoint;
    private final String serviceName;

    ZipkinExporter(Supplier<ClusterManager> clusters, String cluster, String endpoint, String serviceName, Stats stats) {
        super(clusters, cluster, stats, "zipkin");
        this.endpoint = endpoint.startsWith("/") ? endpoint : "/" + endpoint;
        this.serviceName = serviceName;
    }

    @Override
    void send(List<Span> batch, Host host) {
        byte[] body = toJson(batch, serviceName);
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + host.addressString() + endpoint))
                .timeout(Duration.ofSeconds(5))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        try {
            HttpResponse<Void> resp = CLIENT.send(req, HttpResponse.BodyHandlers.discarding());
            if (resp.statusCode() / 100 == 2) {
                reportsSent.inc();
                spansSent.add(batch.size());
            } else {
                reportsFailed.inc();
                logger.debug("{}: {} answered {}", this, host.addressString(), resp.statusCode());
            }
        } catch (IOException e) {
            reportsFailed.inc();
            logger.debug("{}: sending to {} failed: {}", this, host.addressString(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reportsFailed.inc();
        }
    }

    /** Zipkin's v2 JSON list of spans (zipkin2.api's {@code ListOfSpans}). */
    static byte[] toJson(List<Span> spans, String serviceName) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 * spans.size());
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartArray();
            for (Span s : spans) {
                TraceContext c = s.context();
                g.writeStartObject();
                g.writeStringField("traceId", c.traceIdHex());
                if (c.parentId() != 0) {
                    g.writeStringField("parentId", c.parentIdHex());
                }
                g.writeStringField("id", c.spanIdHex());
                g.writeStringField("kind", s.kind().name());
                g.writeStringField("name", s.name());
                g.writeNumberField("timestamp", s.startEpochMicros());
                g.writeNumberField("duration", Math.max(1, s.durationMicros()));
                g.writeObjectFieldStart("localEndpoint");
                g.writeStringField("serviceName", serviceName);
                g.writeEndObject();
                if (c.debug()) {
                    g.writeBooleanField("debug", true);
                }
                if (s.shared()) {
                    g.writeBooleanField("shared", true);
                }
                if (!s.tags().isEmpty()) {
                    g.writeObjectFieldStart("tags");
                    for (Map.Entry<String, String> t : s.tags().entrySet()) {
                        g.writeStringField(t.getKey(), t.getValue());
                    }
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "zipkin(" + cluster + endpoint + ")";
    }
}

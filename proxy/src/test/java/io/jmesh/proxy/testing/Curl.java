package io.jmesh.proxy.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real {@code curl} binary and parses what it printed: status line, headers and body.
 * Each call is bounded by curl's {@code --max-time}.
 */
public final class Curl {

    /** What curl received. */
    public static final class Result {
        public final int exitCode;
        public final int status;
        public final String httpVersion;
        public final Map<String, String> headers;
        public final String body;
        public final String stderr;

        Result(int exitCode, int status, String httpVersion, Map<String, String> headers, String body, String stderr) {
            this.exitCode = exitCode;
            this.status = status;
            this.httpVersion = httpVersion;
            this.headers = headers;
            this.body = body;
            this.stderr = stderr;
        }

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        @Override
        public String toString() {
            return "curl exit=" + exitCode + " status=" + status + " " + httpVersion + " headers=" + headers
                    + " body=" + body + " stderr=" + stderr;
        }
    }

    private Curl() {}

    /** Runs {@code curl -s -S -D - --max-time 20 ARGS}. */
    public static Result run(String... args) throws IOException, InterruptedException {
        Path headerFile = Files.createTempFile("curl-headers", ".txt");
        Path bodyFile = Files.createTempFile("curl-body", ".txt");
        Path errFile = Files.createTempFile("curl-err", ".txt");
        try {
            List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-S", "--max-time", "20",
                    "-D", headerFile.toString(), "-o", bodyFile.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectError(errFile.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("curl did not finish: " + cmd);
            }
            String head = Files.readString(headerFile, StandardCharsets.ISO_8859_1);
            int status = 0;
            String version = "";
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line : head.split("\r\n")) {
                if (line.startsWith("HTTP/")) {
                    String[] parts = line.split(" ", 3);
                    version = parts[0];
                    status = Integer.parseInt(parts[1]);
                    if (status != 100) {
                        headers.clear();
                    }
                } else if (line.contains(":")) {
                    int i = line.indexOf(':');
                    String k = line.substring(0, i).trim().toLowerCase(Locale.ROOT);
                    String v = line.substring(i + 1).trim();
                    headers.merge(k, v, (a, b) -> a + "," + b);
                }
            }
            return new Result(p.exitValue(), status, version, headers,
                    Files.readString(bodyFile, StandardCharsets.UTF_8), Files.readString(errFile));
        } finally {
            Files.deleteIfExists(headerFile);
            Files.deleteIfExists(bodyFile);
            Files.deleteIfExists(errFile);
        }
    }
}

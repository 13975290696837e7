package io.jmesh.proxy.filter.compression;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs curl and keeps the body as bytes (compressed bodies are not text). */
public final class RawCurl {

    /** Status, headers (lower-case names, repeated ones joined with ","), body bytes. */
    public record Result(int status, String httpVersion, Map<String, String> headers, byte[] body, String stderr) {
        public String header(String name) {
            return headers.get(name);
        }
    }

    private RawCurl() {}

    /** {@code curl -s -S --max-time 20 ARGS}, the body kept as it came (add --compressed to have curl decode it). */
    public static Result run(String... args) throws IOException, InterruptedException {
        Path head = Files.createTempFile("curl-h", ".txt");
        Path body = Files.createTempFile("curl-b", ".bin");
        Path err = Files.createTempFile("curl-e", ".txt");
        try {
            List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-S", "--max-time", "20", "-D", head.toString(),
                    "-o", body.toString()));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("curl did not finish: " + cmd);
            }
            int status = 0;
            String version = "";
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line : Files.readString(head, java.nio.charset.StandardCharsets.ISO_8859_1).split("\r\n")) {
                if (line.startsWith("HTTP/")) {
                    String[] parts = line.split(" ", 3);
                    version = parts[0];
                    status = Integer.parseInt(parts[1]);
                    headers.clear();
                } else if (line.contains(":")) {
                    int i = line.indexOf(':');
                    headers.merge(line.substring(0, i).trim().toLowerCase(Locale.ROOT), line.substring(i + 1).trim(),
                            (a, b) -> a + "," + b);
                }
            }
            return new Result(status, version, headers, Files.readAllBytes(body), Files.readString(err));
        } finally {
            Files.deleteIfExists(head);
            Files.deleteIfExists(body);
            Files.deleteIfExists(err);
        }
    }
}

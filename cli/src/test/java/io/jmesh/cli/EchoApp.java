package io.jmesh.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

import com.sun.net.httpserver.HttpServer;

/**
 * A plain HTTP application for the capture tests (the JDK's HTTP server, no mesh code): on each port given it answers
 * every request with 200 and a body that tells what it saw, {@code remote=<peer IP>}, {@code port=<local port>} and
 * the request headers as {@code name: value} lines. Runs until killed.
 */
public final class EchoApp {

    private EchoApp() {}

    public static void main(String[] args) throws IOException {
        for (String a : args) {
            HttpServer server = HttpServer.create(new InetSocketAddress("0.0.0.0", Integer.parseInt(a)), 50);
            server.createContext("/", exchange -> {
                StringBuilder sb = new StringBuilder();
                sb.append("remote=").append(exchange.getRemoteAddress().getAddress().getHostAddress()).append('\n');
                sb.append("port=").append(exchange.getLocalAddress().getPort()).append('\n');
                Map<String, String> headers = new TreeMap<>();
                exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), String.join(",", v)));
                headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append('\n'));
                byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
                exchange.getRequestBody().readAllBytes();
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
        }
        System.out.println("echo listening on " + String.join(",", args));
    }
}

package io.jmesh.cli.istioctl;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** GETs and POSTs against discovery's monitoring port and a proxy's admin port, with errors a user can act on. */
final class Http {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Http() {}

    /** The body of {@code GET http://<address><path>}; a refused connection or a non-200 status is an error. */
    static String get(String address, String path, String what) throws CommandException {
        return send("GET", address, path, what);
    }

    /** The body of {@code POST http://<address><path>} (no body); errors as {@link #get}. */
    static String post(String address, String path, String what) throws CommandException {
        return send("POST", address, path, what);
    }

    private static String send(String method, String address, String path, String what) throws CommandException {
        String url = "http://" + address + path;
        HttpResponse<String> r;
        try {
            r = CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15))
                            .method(method, HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new CommandException("cannot reach " + what + " at " + address + " (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandException("interrupted");
        } catch (IllegalArgumentException e) {
            throw new CommandException(what + " address: " + address + " (expected: HOST:PORT)");
        }
        if (r.statusCode() != 200) {
            String body = r.body().strip();
            int nl = body.indexOf('\n');
            throw new CommandException(what + " answered " + r.statusCode() + " to " + method + " " + path + ": "
                    + (nl < 0 ? body : body.substring(0, nl)));
        }
        return r.body();
    }

    static JsonNode getJson(String address, String path, String what) throws CommandException {
        String body = get(address, path, what);
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new CommandException(what + " at " + address + path + " did not answer JSON: " + e.getMessage());
        }
    }

    /** What a command prints on standard output, or the {@link CommandException} that stops it. */
    @FunctionalInterface
    interface Output {
        String get() throws CommandException;
    }

    /**
     * Runs a command: prints its output and returns exit code 0, or prints its failure as one line
     * {@code Error: MESSAGE} on standard error and returns 1.
     */
    static int print(Output command) {
        try {
            System.out.print(command.get());
            return 0;
        } catch (CommandException e) {
            System.err.println("Error: " + e.getMessage());
            return 1;
        }
    }

    /** A failure to report to the user in one line, with exit code 1. */
    static final class CommandException extends Exception {
        private static final long serialVersionUID = 1L;

        CommandException(String message) {
            super(message);
        }
    }
}

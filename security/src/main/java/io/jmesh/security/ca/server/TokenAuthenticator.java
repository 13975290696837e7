package io.jmesh.security.ca.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLSession;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.grpc.Metadata;
import io.jmesh.security.ca.CaConfigException;
import io.jmesh.security.spiffe.SpiffeId;

/**
 * Authenticates a caller by the bearer token it sends in {@code authorization: Bearer <token>} metadata (as
 * Istio's agent sends its service account token), looked up in a token file:
 *
 * <pre>
 * tokens:
 * - token: 8c6e0f3b9a...          # any string of 16 to 4096 visible ASCII characters
 *   namespace: default
 *   serviceAccount: reviews
 * </pre>
 *
 * <p>The file is read at construction (a bad file fails with the field path) and read again whenever its
 * modification time or size changes; a bad edit is logged with the field path and the last good table keeps
 * serving. A token is compared in constant time. Thread-safe.
 */
public final class TokenAuthenticator implements Authenticator {

    private static final Logger logger = LoggerFactory.getLogger(TokenAuthenticator.class);

    /** The metadata key of the token. */
    public static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    /** Shortest token accepted in the file. */
    public static final int MIN_TOKEN_LENGTH = 16;
    /** Longest token accepted in the file or a call. */
    public static final int MAX_TOKEN_LENGTH = 4096;

    private final Path file;
    private final String trustDomain;
    private volatile Table table;

    private record Table(FileTime modified, long size, Map<String, SpiffeId> byHash) {}

    /**
     * Reads {@code file}.
     *
     * @param trustDomain the trust domain of the identities the tokens stand for
     * @throws CaConfigException with the file and field path when the file is missing or invalid
     */
    public TokenAuthenticator(Path file, String trustDomain) throws CaConfigException {
        this.file = file;
        this.trustDomain = trustDomain;
        this.table = read();
    }

    /**
     * The token of the first {@code authorization: Bearer <token>} of {@code headers} (the scheme in any case), or
     * null when there is none (the call is not a bearer token authenticator's).
     *
     * @throws AuthenticationException when the token is empty or longer than {@value #MAX_TOKEN_LENGTH} characters
     */
    public static String bearerToken(Metadata headers) throws AuthenticationException {
        Iterable<String> values = headers.getAll(AUTHORIZATION);
        if (values == null) {
            return null;
        }
        String token = null;
        for (String v : values) {
            if (v.regionMatches(true, 0, "Bearer ", 0, 7)) {
                token = v.substring(7).trim();
                break;
            }
        }
        if (token != null && (token.isEmpty() || token.length() > MAX_TOKEN_LENGTH)) {
            throw new AuthenticationException("authorization: bearer token of " + token.length()
                    + " characters (expected: 1 to " + MAX_TOKEN_LENGTH + ")");
        }
        return token;
    }

    @Override
    public SpiffeId authenticate(Metadata headers, SSLSession session) throws AuthenticationException {
        String token = bearerToken(headers);
        if (token == null) {
            return null;
        }
        refresh();
        // Look up by digest so that a lookup takes the same time whatever the token.
        SpiffeId id = table.byHash.get(digest(token));
        if (id == null) {
            throw new AuthenticationException("authorization: unknown bearer token (expected: a token of " + file + ")");
        }
        return id;
    }

    @Override
    public String name() {
        return "TokenAuthenticator";
    }

    /** The number of tokens in the table being served. */
    public int size() {
        return table.byHash.size();
    }

    private void refresh() {
        Table t = table;
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            long size = Files.size(file);
            if (modified.equals(t.modified) && size == t.size) {
                return;
            }
        } catch (IOException e) {
            return; // keep the table; the next change is picked up
        }
        synchronized (this) {
            try {
                table = read();
                logger.info("{}: {} tokens", file, table.byHash.size());
            } catch (CaConfigException e) {
                logger.error("{} (keeping the previous {} tokens)", e.getMessage(), t.byHash.size());
                try {
                    table = new Table(Files.getLastModifiedTime(file), Files.size(file), t.byHash);
                } catch (IOException ignored) {
                    // retried on the next call
                }
            }
        }
    }

    private Table read() throws CaConfigException {
        FileTime modified;
        long size;
        JsonNode root;
        try {
            modified = Files.getLastModifiedTime(file);
            size = Files.size(file);
            if (size > 16 * 1024 * 1024) {
                throw new CaConfigException(file + ": " + size + " bytes (expected: <= 16 MiB)");
            }
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new CaConfigException(file + ": missing");
        } catch (IOException e) {
            throw new CaConfigException(file + ": " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        Map<String, SpiffeId> byHash = new HashMap<>();
        JsonNode tokens = root == null ? null : root.get("tokens");
        if (tokens == null || tokens.isNull()) {
            return new Table(modified, size, Map.of());
        }
        if (!tokens.isArray()) {
            throw new CaConfigException(file + ": tokens: " + tokens.getNodeType() + " (expected: a list)");
        }
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            JsonNode t = tokens.get(i);
            String p = file + ": tokens[" + i + "]";
            String token = text(t, "token", p);
            if (token.length() < MIN_TOKEN_LENGTH || token.length() > MAX_TOKEN_LENGTH
                    || !token.chars().allMatch(c -> c > 32 && c < 127)) {
                throw new CaConfigException(p + ".token: " + token.length() + " characters (expected: "
                        + MIN_TOKEN_LENGTH + " to " + MAX_TOKEN_LENGTH + " visible ASCII characters)");
            }
            SpiffeId id;
            String ns = text(t, "namespace", p);
            String sa = text(t, "serviceAccount", p);
            try {
                id = new SpiffeId(trustDomain, ns, sa);
            } catch (IllegalArgumentException e) {
                throw new CaConfigException(p + ": " + e.getMessage());
            }
            String h = digest(token);
            if (byHash.containsKey(h)) {
                throw new CaConfigException(p + ".token: same token as tokens[" + seen.indexOf(h)
                        + "] (expected: one identity per token)");
            }
            seen.add(h);
            byHash.put(h, id);
        }
        return new Table(modified, size, Map.copyOf(byHash));
    }

    private static String text(JsonNode node, String field, String path) throws CaConfigException {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || !v.isValueNode() || v.asText().isEmpty()) {
            throw new CaConfigException(path + "." + field + ": " + (v == null ? "missing" : v.toString())
                    + " (expected: a non-empty string)");
        }
        return v.asText();
    }

    private static String digest(String token) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

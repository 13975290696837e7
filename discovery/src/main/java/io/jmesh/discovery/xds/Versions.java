package io.jmesh.discovery.xds;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * Content versions: a resource's version is a hash of its deterministic serialization, and a
 * type's version a hash of its resources' names and versions, so equal content has an equal
 * version on every connection and across restarts. Stateless and thread-safe.
 */
public final class Versions {

    private Versions() {}

    /** Returns the version of one resource: 16 hex digits of SHA-256 over its deterministic serialization. */
    public static String of(Message m) {
        return of(deterministicBytes(m));
    }

    /** Returns the version of a resource given its {@linkplain #deterministicBytes deterministic serialization}. */
    public static String of(ByteString deterministicBytes) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (java.nio.ByteBuffer b : deterministicBytes.asReadOnlyByteBufferList()) {
                sha.update(b);
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Returns {@code m} serialized with map entries in key order, so that equal content gives equal
     * bytes; also a valid value for an {@code Any} holding {@code m}.
     */
    public static ByteString deterministicBytes(Message m) {
        try {
            byte[] bytes = new byte[m.getSerializedSize()];
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            out.useDeterministicSerialization();
            m.writeTo(out);
            out.checkNoSpaceLeft();
            return UnsafeByteOperations.unsafeWrap(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Returns the version of a set of resources, given each one's name and version in name order
     * (the order of {@code versions}' iteration is used as is).
     */
    public static String ofSet(Map<String, String> versions) {
        StringBuilder sb = new StringBuilder(versions.size() * 64);
        versions.forEach((k, v) -> sb.append(k).append('=').append(v).append(';'));
        // Same bytes as a StringValue holding the text, so versions match those of earlier releases.
        return of(com.google.protobuf.StringValue.of(sb.toString()));
    }
}

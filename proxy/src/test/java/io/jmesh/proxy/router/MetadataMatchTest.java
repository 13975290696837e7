package io.jmesh.proxy.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.jmesh.proxy.config.ConfigException;

/** Envoy's MetadataMatcher semantics over dynamic metadata, as route matching uses them. */
class MetadataMatchTest {

    private static final Map<String, Struct> METADATA = Map.of("envoy.filters.http.jwt_authn",
            struct("{\"payload\": {\"group\": [\"users\", \"admins\"], \"sub\": \"alice\", \"org\": {\"team\": \"blue-1\"},"
                   + " \"admin\": true, \"level\": 3}}"));

    private static Struct struct(String json) {
        Struct.Builder b = Struct.newBuilder();
        try {
            JsonFormat.parser().merge(json, b);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(e);
        }
        return b.build();
    }

    private static MetadataMatch match(String json) throws Exception {
        MetadataMatcher.Builder b = MetadataMatcher.newBuilder();
        JsonFormat.parser().merge(json, b);
        return MetadataMatch.from(b.build(), "match.dynamic_metadata[0]");
    }

    private static String path(String... keys) {
        StringBuilder s = new StringBuilder("\"filter\": \"envoy.filters.http.jwt_authn\", \"path\": [");
        for (int i = 0; i < keys.length; i++) {
            s.append(i == 0 ? "" : ",").append("{\"key\": \"").append(keys[i]).append("\"}");
        }
        return s.append("]").toString();
    }

    @Test
    void matchesValuesListsNestedPathsAndInversion() throws Exception {
        assertTrue(match("{" + path("payload", "sub") + ", \"value\": {\"stringMatch\": {\"exact\": \"alice\"}}}").matches(METADATA));
        assertFalse(match("{" + path("payload", "sub") + ", \"value\": {\"stringMatch\": {\"exact\": \"bob\"}}}").matches(METADATA));
        assertTrue(match("{" + path("payload", "group") + ", \"value\": {\"listMatch\": {\"oneOf\": {\"stringMatch\": {\"exact\": \"admins\"}}}}}").matches(METADATA));
        assertFalse(match("{" + path("payload", "group") + ", \"value\": {\"stringMatch\": {\"exact\": \"admins\"}}}").matches(METADATA),
                "a string matcher does not look into a list");
        assertTrue(match("{" + path("payload", "org", "team") + ", \"value\": {\"stringMatch\": {\"prefix\": \"blue\"}}}").matches(METADATA));
        assertTrue(match("{" + path("payload", "admin") + ", \"value\": {\"boolMatch\": true}}").matches(METADATA));
        assertTrue(match("{" + path("payload", "level") + ", \"value\": {\"doubleMatch\": {\"range\": {\"start\": 1, \"end\": 5}}}}").matches(METADATA));
        assertTrue(match("{" + path("payload", "nope") + ", \"value\": {\"presentMatch\": false}}").matches(METADATA));
        assertFalse(match("{" + path("payload", "sub", "deeper") + ", \"value\": {\"presentMatch\": true}}").matches(METADATA));
        assertTrue(match("{" + path("payload", "sub") + ", \"value\": {\"stringMatch\": {\"exact\": \"bob\"}}, \"invert\": true}").matches(METADATA));
        assertFalse(match("{" + path("payload", "sub") + ", \"value\": {\"stringMatch\": {\"exact\": \"alice\"}}}").matches(null),
                "no metadata at all");
    }

    @Test
    void badMatchersNameTheField() {
        ConfigException noFilter = assertThrows(ConfigException.class,
                () -> match("{\"path\": [{\"key\": \"a\"}], \"value\": {\"presentMatch\": true}}"));
        assertEquals("match.dynamic_metadata[0].filter: \"\" (expected: a metadata namespace)", noFilter.getMessage());
        ConfigException noValue = assertThrows(ConfigException.class, () -> match("{" + path("a") + "}"));
        assertEquals("match.dynamic_metadata[0].value: (expected: set)", noValue.getMessage());
    }
}

package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The list operations of EnvoyFilter patches on filter lists ({@link EnvoyFilters#applyListOperation}), every operation
 * with the patch naming a present filter, an absent one, and none: what istiod does with each.
 */
class EnvoyFilterListOperationTest {

    private static List<String> apply(String operation, String named, boolean insertFirstAlways) {
        List<String> filters = new ArrayList<>(List.of("authn", "rbac", "router"));
        EnvoyFilters.applyListOperation(filters, operation, "new", named != null, f -> f.equals(named),
                insertFirstAlways);
        return filters;
    }

    @Test
    void eachOperationWithAPresentAnAbsentAndNoNamedFilter() {
        assertEquals(List.of("authn", "rbac", "router", "new"), apply("ADD", "rbac", false));
        assertEquals(List.of("authn", "rbac", "new", "router"), apply("INSERT_AFTER", "rbac", false));
        assertEquals(List.of("authn", "rbac", "router"), apply("INSERT_AFTER", "absent", false));
        assertEquals(List.of("authn", "rbac", "router", "new"), apply("INSERT_AFTER", null, false));
        assertEquals(List.of("authn", "new", "rbac", "router"), apply("INSERT_BEFORE", "rbac", false));
        assertEquals(List.of("authn", "rbac", "router"), apply("INSERT_BEFORE", "absent", false));
        assertEquals(List.of("new", "authn", "rbac", "router"), apply("INSERT_BEFORE", null, false));
        assertEquals(List.of("authn", "new", "router"), apply("REPLACE", "rbac", false));
        assertEquals(List.of("authn", "rbac", "router"), apply("REPLACE", "absent", false));
        assertEquals(List.of("authn", "rbac", "router"), apply("REPLACE", null, false));
        assertEquals(List.of("authn", "router"), apply("REMOVE", "rbac", false));
        assertEquals(List.of("authn", "rbac", "router"), apply("REMOVE", null, false));
        assertEquals(List.of("authn", "rbac", "router"), apply("MERGE", "rbac", false), "MERGE is applied per filter");
    }

    @Test
    void insertFirstNeedsThePresentFilterOnlyForNetworkFilters() {
        assertEquals(List.of("new", "authn", "rbac", "router"), apply("INSERT_FIRST", "rbac", false));
        assertEquals(List.of("new", "authn", "rbac", "router"), apply("INSERT_FIRST", null, false));
        assertEquals(List.of("authn", "rbac", "router"), apply("INSERT_FIRST", "absent", false));
        assertEquals(List.of("new", "authn", "rbac", "router"), apply("INSERT_FIRST", "absent", true));
    }
}

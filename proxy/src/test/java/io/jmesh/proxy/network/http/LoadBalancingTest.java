package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Weighted routes, load balancers and connection reuse, seen from the backends that requests reach. */
class LoadBalancingTest {

    /** Backends a and b behind round robin, ring hash, Maglev, and an 80/20 split of two one-host clusters. */
    static Bootstraps config(int a, int b) {
        return Bootstraps.http()
                .statPrefix("lb")
                .routeYaml("{ match: { prefix: /split }, route: { weighted_clusters: { clusters: ["
                        + "{ name: only_a, weight: 80 }, { name: only_b, weight: 20 }] } } }")
                .routeYaml("{ match: { prefix: /sticky }, route: { cluster: ring, hash_policy: [{ header: { header_name: x-user } }] } }")
                .routeYaml("{ match: { prefix: /maglev }, route: { cluster: maglev, hash_policy: [{ header: { header_name: x-user } }] } }")
                .route("/", "rr")
                .cluster("rr", a, b)
                .cluster("ring", a, b).clusterOption("ring", "lb_policy", "RING_HASH")
                .cluster("maglev", a, b).clusterOption("maglev", "lb_policy", "MAGLEV")
                .cluster("only_a", a)
                .cluster("only_b", b);
    }

    static TestBackend a;
    static TestBackend b;
    static ProxyFixture proxy;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        a = TestBackend.start("a");
        b = TestBackend.start("b");
        proxy = config(a.port(), b.port()).start(2);
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        a.close();
        b.close();
    }

    private static String backendOf(String path, String user) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(proxy.url(path))).timeout(Duration.ofSeconds(10));
        if (user != null) {
            r.header("x-user", user);
        }
        HttpResponse<String> resp = client.send(r.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode(), resp.body());
        return resp.headers().firstValue("x-backend").orElse("?");
    }

    @Test
    void roundRobinAlternatesAndReusesConnections() throws Exception {
        int connectionsBefore = a.connections.get() + b.connections.get();
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < 40; i++) {
            seen.merge(backendOf("/rr", null), 1, Integer::sum);
        }
        assertEquals(Map.of("a", 20, "b", 20), seen);
        int opened = a.connections.get() + b.connections.get() - connectionsBefore;
        assertTrue(opened <= 4, "keep-alive reuse: " + opened + " upstream connections for 40 requests");
    }

    @Test
    void weightedClustersSplitWithinBounds() throws Exception {
        int n = 1000;
        int toA = 0;
        for (int i = 0; i < n; i++) {
            if (backendOf("/split", null).equals("a")) {
                toA++;
            }
        }
        // 80% of 1000: mean 800, sd ~12.6; six sd either side.
        assertTrue(toA > 724 && toA < 876, "80/20 split gave " + toA + " of " + n + " to a");
    }

    @Test
    void ringHashAndMaglevAreSticky() throws Exception {
        for (String path : new String[] {"/sticky", "/maglev"}) {
            Map<String, String> firstPick = new HashMap<>();
            for (int user = 0; user < 20; user++) {
                firstPick.put("u" + user, backendOf(path, "u" + user));
            }
            for (int round = 0; round < 3; round++) {
                for (int user = 0; user < 20; user++) {
                    assertEquals(firstPick.get("u" + user), backendOf(path, "u" + user), path + " user u" + user);
                }
            }
            assertTrue(firstPick.containsValue("a") && firstPick.containsValue("b"), path + " spreads users: " + firstPick);
        }
    }
}

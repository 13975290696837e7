package io.jmesh.benchmarks.router;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.router.RouteTable;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Route matching over 1,000 routes in 100 virtual hosts (10 routes each: exact paths, prefixes, a
 * header-matched prefix, a regex, and a catch-all), the shape Istio generates for a mesh of 100
 * services. Run: {@code java -jar benchmarks/target/benchmarks.jar RouteMatch}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RouteMatchBenchmark {

    static final int VIRTUAL_HOSTS = 100;

    private RouteTable table;
    private HttpRequest firstRoute;
    private HttpRequest headerRoute;
    private HttpRequest regexRoute;
    private HttpRequest catchAll;
    private HttpRequest wildcardHostWithPort;
    private HttpRequest noVirtualHost;

    static RouteConfiguration config() {
        final RouteConfiguration.Builder b = RouteConfiguration.newBuilder().setName("bench");
        for (int v = 0; v < VIRTUAL_HOSTS; v++) {
            final String svc = "svc" + v;
            final VirtualHost.Builder vh = VirtualHost.newBuilder().setName(svc + ".ns.svc.cluster.local:80")
                    .addDomains(svc + ".ns.svc.cluster.local").addDomains(svc + ".ns.svc.cluster.local:80")
                    .addDomains(svc).addDomains(svc + ":80").addDomains(svc + ".ns").addDomains("*." + svc + ".example.com");
            for (int r = 0; r < 6; r++) {
                vh.addRoutes(route(svc + "-path" + r, RouteMatch.newBuilder().setPath("/api/v1/items/" + r), svc));
            }
            vh.addRoutes(route(svc + "-prefix", RouteMatch.newBuilder().setPrefix("/api/v2/"), svc));
            vh.addRoutes(route(svc + "-header", RouteMatch.newBuilder().setPrefix("/api/")
                    .addHeaders(HeaderMatcher.newBuilder().setName("x-canary")
                                        .setStringMatch(StringMatcher.newBuilder().setExact("true"))), svc + "-canary"));
            vh.addRoutes(route(svc + "-regex", RouteMatch.newBuilder()
                    .setSafeRegex(RegexMatcher.newBuilder().setRegex("/users/[0-9]+/profile")), svc));
            vh.addRoutes(route(svc + "-all", RouteMatch.newBuilder().setPrefix("/"), svc));
            b.addVirtualHosts(vh);
        }
        return b.build();
    }

    private static Route route(String name, RouteMatch.Builder match, String cluster) {
        return Route.newBuilder().setName(name).setMatch(match)
                    .setRoute(RouteAction.newBuilder().setCluster(cluster)).build();
    }

    private static HttpRequest request(String host, String uri) {
        final HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
        r.headers().set("host", host).set("user-agent", "bench").set("accept", "*/*");
        return r;
    }

    @Setup
    public void setUp() throws Exception {
        table = RouteTable.create(config());
        firstRoute = request("svc57.ns.svc.cluster.local", "/api/v1/items/0");
        headerRoute = request("svc57:80", "/api/v3/x?y=1");
        headerRoute.headers().set("x-canary", "true");
        regexRoute = request("svc57.ns", "/users/12345/profile");
        catchAll = request("svc57", "/static/app.js?v=3");
        wildcardHostWithPort = request("www.svc57.example.com:8080", "/index.html");
        noVirtualHost = request("unknown.example.org", "/");
        for (HttpRequest r : new HttpRequest[] { firstRoute, headerRoute, regexRoute, catchAll, wildcardHostWithPort }) {
            if (table.route(r) == null) {
                throw new IllegalStateException("no route for " + r);
            }
        }
        check(headerRoute, "svc57-header");
        check(regexRoute, "svc57-regex");
        check(catchAll, "svc57-all");
        check(wildcardHostWithPort, "svc57-all");
        if (table.route(noVirtualHost) != null) {
            throw new IllegalStateException("unexpected route");
        }
    }

    private void check(HttpRequest r, String name) {
        final RouteEntry e = table.route(r);
        if (!e.name().equals(name)) {
            throw new IllegalStateException(name + " expected, got " + e.name());
        }
    }

    @Benchmark
    public RouteEntry exactPathFirstRoute() {
        return table.route(firstRoute);
    }

    @Benchmark
    public RouteEntry headerMatchEighthRoute() {
        return table.route(headerRoute);
    }

    @Benchmark
    public RouteEntry regexNinthRoute() {
        return table.route(regexRoute);
    }

    @Benchmark
    public RouteEntry catchAllTenthRoute() {
        return table.route(catchAll);
    }

    @Benchmark
    public RouteEntry wildcardHostWithPort() {
        return table.route(wildcardHostWithPort);
    }

    @Benchmark
    public RouteEntry noVirtualHost() {
        return table.route(noVirtualHost);
    }
}

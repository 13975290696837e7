package io.jmesh.benchmarks.router;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.router.RouteTable;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Header mutations at route, virtual host and route configuration level (two additions and one
 * removal each, with mixed append actions) plus a prefix rewrite, applied to a fresh request or
 * response per operation; {@code newRequestOnly} measures the cost of building that request.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HeaderMutationBenchmark {

    private RouteEntry entry;

    private static HeaderValueOption add(String key, String value, HeaderAppendAction action) {
        return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(key).setValue(value))
                                .setAppendAction(action).build();
    }

    @Setup
    public void setUp() throws Exception {
        final RouteConfiguration config = RouteConfiguration.newBuilder().setName("bench")
                .addRequestHeadersToAdd(add("x-mesh", "jmesh", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
                .addRequestHeadersToAdd(add("x-config", "1", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
                .addRequestHeadersToRemove("x-internal")
                .addResponseHeadersToAdd(add("x-served-by", "jmesh", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
                .addResponseHeadersToRemove("server")
                .addVirtualHosts(VirtualHost.newBuilder().setName("vh").addDomains("*")
                        .addRequestHeadersToAdd(add("x-vh", "a", HeaderAppendAction.ADD_IF_ABSENT))
                        .addRequestHeadersToAdd(add("x-env", "prod", HeaderAppendAction.OVERWRITE_IF_EXISTS))
                        .addRequestHeadersToRemove("x-debug")
                        .addResponseHeadersToAdd(add("x-vh", "a", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
                        .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/api/"))
                                .setRoute(RouteAction.newBuilder().setCluster("c").setPrefixRewrite("/"))
                                .addRequestHeadersToAdd(add("x-route", "r", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
                                .addRequestHeadersToAdd(add("x-mesh", "route", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
                                .addRequestHeadersToRemove("cookie")
                                .addResponseHeadersToAdd(add("cache-control", "no-store",
                                                             HeaderAppendAction.ADD_IF_ABSENT))))
                .build();
        entry = RouteTable.create(config).route(newRequest());
    }

    private static HttpRequest newRequest() {
        final HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/api/items/42?x=1");
        r.headers().set("host", "svc.example.com").set("user-agent", "bench").set("accept", "*/*")
         .set("x-internal", "1").set("x-env", "dev").set("cookie", "a=b");
        return r;
    }

    @Benchmark
    public HttpRequest newRequestOnly() {
        return newRequest();
    }

    @Benchmark
    public HttpRequest transformRequest() {
        final HttpRequest r = newRequest();
        entry.transformRequest(r);
        return r;
    }

    @Benchmark
    public HttpResponse transformResponse() {
        final HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set("server", "upstream").set("content-type", "application/json");
        entry.transformResponse(res);
        return res;
    }
}

/**
 * Route tables: Envoy's {@code RouteConfiguration} compiled into an immutable {@link
 * io.jmesh.proxy.router.RouteTable} that picks a virtual host and a route per request, plus what a
 * chosen route does (cluster choice, weighted split, rewrites, header mutations, redirects, direct
 * responses, retries, timeouts, hash policy).
 *
 * <p>Everything is validated and precompiled in {@link io.jmesh.proxy.router.RouteTable#create};
 * the objects here are immutable and safe to share between event loops.
 */
package io.jmesh.proxy.router;

/**
 * {@code envoy.filters.http.csrf}: refuses state-changing requests whose {@code Origin} (or {@code Referer}) is not
 * the destination host or one of {@code additional_origins}.
 */
package io.jmesh.proxy.filter.csrf;

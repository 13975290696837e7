/** {@code envoy.filters.http.buffer}: holds the whole request body before it goes upstream, up to a limit. */
package io.jmesh.proxy.filter.buffer;

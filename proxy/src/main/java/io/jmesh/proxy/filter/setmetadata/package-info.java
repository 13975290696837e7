/**
 * {@code envoy.filters.http.set_metadata}: fixed values merged into the stream's dynamic metadata on every request.
 */
package io.jmesh.proxy.filter.setmetadata;

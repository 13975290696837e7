/**
 * {@code envoy.filters.http.header_to_metadata}: request and response header (or cookie) values copied into the
 * stream's dynamic metadata, where the access log ({@code %DYNAMIC_METADATA(ns:key)%}) and RBAC metadata matchers
 * read them.
 */
package io.jmesh.proxy.filter.headertometadata;

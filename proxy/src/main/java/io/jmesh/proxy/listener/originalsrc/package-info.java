/** {@code envoy.filters.listener.original_src}: upstream connections from the downstream client's own address. */
package io.jmesh.proxy.listener.originalsrc;

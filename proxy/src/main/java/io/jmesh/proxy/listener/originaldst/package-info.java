/** {@code envoy.filters.listener.original_dst}: the destination a connection had before iptables redirected it. */
package io.jmesh.proxy.listener.originaldst;

/** {@code envoy.filters.listener.proxy_protocol}: HAProxy's PROXY protocol v1 and v2 in front of a connection. */
package io.jmesh.proxy.listener.proxyprotocol;

/** Envoy-compatible admin HTTP interface: /ready, /server_info, /config_dump, /clusters, /stats, /quitquitquit. */
package io.jmesh.proxy.admin;

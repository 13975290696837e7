/**
 * HTTP filters: one package per filter (factory + filter + config), registered by Envoy filter name
 * and type URL in {@link io.jmesh.proxy.filter.HttpFilterRegistry}.
 */
package io.jmesh.proxy.filter;

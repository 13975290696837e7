/** Stats (counters, gauges, histograms with Envoy stat names) and their Envoy text and Prometheus renderings. */
package io.jmesh.proxy.telemetry;

/** The monitoring port: Prometheus metrics and istiod's {@code /debug/*} endpoints. */
package io.jmesh.discovery.debug;

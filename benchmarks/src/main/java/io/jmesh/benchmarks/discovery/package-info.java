/**
 * Control-plane load benchmarks, like Istio's {@code pilot-load}: a generator of Istio YAML for many
 * services ({@link io.jmesh.benchmarks.discovery.MeshConfigGenerator}), a load tool that runs
 * discovery and many simulated sidecar ADS clients against it ({@link io.jmesh.benchmarks.discovery.PilotLoad}),
 * and a JMH benchmark of one sidecar's config generation
 * ({@link io.jmesh.benchmarks.discovery.SidecarGenerationBenchmark}). Results go to
 * {@code docs/performance.md}; nothing here is asserted in a test.
 */
package io.jmesh.benchmarks.discovery;

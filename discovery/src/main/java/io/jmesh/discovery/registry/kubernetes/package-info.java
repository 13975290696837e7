/**
 * The Kubernetes service registry: Services, EndpointSlices, Pods, Namespaces and Nodes read with fabric8's
 * informers ({@link io.jmesh.discovery.registry.kubernetes.KubernetesServiceRegistry}), and the client they
 * share with the Istio CRD store ({@link io.jmesh.discovery.registry.kubernetes.KubernetesClients}).
 */
package io.jmesh.discovery.registry.kubernetes;

/**
 * {@code istioctl analyze} for jmesh: analyzers that read a set of Istio objects together and report what is
 * wrong across them (a route to a host nobody defines, a subset no DestinationRule has, two gateways that claim
 * the same port and host), as {@link io.jmesh.discovery.analysis.Message}s with Istio's codes, levels and texts
 * ({@code pkg/config/analysis/msg/messages.yaml}). Analyzers that need Kubernetes objects (Pods, Services,
 * Namespaces, webhooks) are not here: jmesh reads no Kubernetes API.
 */
package io.jmesh.discovery.analysis;

/** The file registry: services from ServiceEntry and WorkloadEntry objects of the config directory. */
package io.jmesh.discovery.registry.file;

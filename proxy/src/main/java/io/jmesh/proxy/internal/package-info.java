/** Internal helpers of the proxy. Anything here may change at any time; other modules must not use it. */
package io.jmesh.proxy.internal;

/**
 * Internal helpers shared by the codec packages (a minimal Hessian 2.0 reader that skips values
 * without materialising them, and a writer for the few values local replies need). Anything in this
 * package may change at any time; it is not part of the codec module's API.
 */
package io.jmesh.codec.internal;

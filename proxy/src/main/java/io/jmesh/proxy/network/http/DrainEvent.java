package io.jmesh.proxy.network.http;

/**
 * Fired down a downstream connection's pipeline when the listener drains: HTTP/1.1 connections close
 * after the current response ({@code connection: close}), HTTP/2 connections send GOAWAY.
 */
public final class DrainEvent {

    public static final DrainEvent INSTANCE = new DrainEvent();

    private DrainEvent() {}
}

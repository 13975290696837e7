package io.jmesh.proxy.network;

/**
 * Fired down a downstream connection's pipeline by its listener when the connection must drain: HTTP/1.1
 * connections close after the current response ({@code connection: close}), HTTP/2 connections get GOAWAY on a
 * listener update, RPC (rpc_proxy) connections close once no call is open. Each terminal network filter handles it.
 */
public final class DrainEvent {

    /** The listener stops (shutdown, removal). */
    public static final DrainEvent INSTANCE = new DrainEvent();

    /**
     * The listener was updated in place: its connections must leave the old filter chain, so HTTP/2 connections
     * get a graceful GOAWAY (on shutdown none is sent: JDK 17's HttpClient fails its in-flight streams on any GOAWAY).
     */
    public static final DrainEvent LISTENER_UPDATE = new DrainEvent();

    private DrainEvent() {}
}

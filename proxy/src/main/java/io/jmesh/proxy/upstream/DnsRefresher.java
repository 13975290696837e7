package io.jmesh.proxy.upstream;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * Resolves the endpoints of one {@code STRICT_DNS} or {@code LOGICAL_DNS} cluster with Netty's non-blocking
 * resolver (hosts file first, then the system's name servers; {@code dns_resolvers} is not used), and again
 * every {@code dns_refresh_rate} after the previous round ends. All state is confined to one event loop.
 *
 * <p>STRICT_DNS: every address of every endpoint is a host. LOGICAL_DNS: one host, the first address;
 * re-resolution changes that host's address in place, so only new connections see it. When a lookup fails
 * the endpoint keeps its previous addresses (Envoy does the same).
 */
final class DnsRefresher {

    private static final Logger logger = LoggerFactory.getLogger(DnsRefresher.class);

    private final UpstreamCluster cluster;
    private final EventLoop loop;
    private final DnsNameResolver resolver;
    private final boolean logical;
    private final List<List<InetAddress>> resolved;
    private int pending;
    /** A lookup of the current round failed. */
    private boolean roundFailed;
    private Host logicalHost;
    private ScheduledFuture<?> next;
    private volatile boolean closed;

    DnsRefresher(UpstreamCluster cluster, EventLoopGroup group) {
        this.cluster = cluster;
        this.loop = group.next();
        this.logical = cluster.type() == Cluster.DiscoveryType.LOGICAL_DNS;
        Class<? extends DatagramChannel> channelType = group instanceof EpollEventLoopGroup
                                                       ? EpollDatagramChannel.class : NioDatagramChannel.class;
        this.resolver = new DnsNameResolverBuilder(loop)
                .datagramChannelType(channelType)
                .resolveCache(NoopDnsCache.INSTANCE)
                .cnameCache(NoopDnsCnameCache.INSTANCE)
                .resolvedAddressTypes(addressTypes(cluster.config().getDnsLookupFamily()))
                .build();
        this.resolved = new ArrayList<>();
        for (int i = 0; i < cluster.endpoints.size(); i++) {
            resolved.add(List.of());
        }
    }

    static ResolvedAddressTypes addressTypes(Cluster.DnsLookupFamily family) {
        switch (family) {
            case V4_ONLY: return ResolvedAddressTypes.IPV4_ONLY;
            case V6_ONLY: return ResolvedAddressTypes.IPV6_ONLY;
            case V4_PREFERRED:
            case ALL: return ResolvedAddressTypes.IPV4_PREFERRED;
            default: return ResolvedAddressTypes.IPV6_PREFERRED; // AUTO: v6 first, as Envoy
        }
    }

    UpstreamCluster cluster() {
        return cluster;
    }

    void start() {
        loop.execute(this::resolveAll);
    }

    private void resolveAll() {
        if (closed) {
            return;
        }
        List<Endpoints.Spec> specs = cluster.endpoints;
        cluster.stats().updateAttempt().inc();
        roundFailed = false;
        pending = specs.size();
        if (pending == 0) {
            roundDone();
            return;
        }
        for (int i = 0; i < specs.size(); i++) {
            Endpoints.Spec spec = specs.get(i);
            if (spec.ip() != null) {
                resolved.set(i, List.of(spec.ip()));
                endpointDone();
                continue;
            }
            final int index = i;
            Future<List<InetAddress>> f = resolver.resolveAll(spec.address());
            f.addListener(done -> {
                if (done.isSuccess()) {
                    @SuppressWarnings("unchecked")
                    List<InetAddress> addresses = (List<InetAddress>) done.getNow();
                    resolved.set(index, List.copyOf(addresses));
                } else {
                    roundFailed = true;
                    logger.warn("cluster {}: cannot resolve {}: {}", cluster.name(), spec.address(),
                                done.cause().toString());
                }
                endpointDone();
            });
        }
    }

    private void endpointDone() {
        if (--pending == 0) {
            roundDone();
        }
    }

    private void roundDone() {
        if (closed) {
            return;
        }
        if (!apply()) {
            cluster.stats().updateNoRebuild().inc();
        }
        (roundFailed ? cluster.stats().updateFailure() : cluster.stats().updateSuccess()).inc();
        cluster.ready.complete(null);
        next = loop.schedule(this::resolveAll, cluster.dnsRefreshMillis, TimeUnit.MILLISECONDS);
    }

    /** Applies the round's addresses; returns whether the host set (or the logical host's address) changed. */
    private boolean apply() {
        List<Endpoints.Spec> specs = cluster.endpoints;
        if (logical) {
            List<InetAddress> addresses = resolved.get(0);
            if (addresses.isEmpty()) {
                return false;
            }
            Endpoints.Spec spec = specs.get(0);
            if (logicalHost == null) {
                logicalHost = spec.toHost(addresses.get(0), null);
                cluster.setHosts(List.of(logicalHost), cluster.overprovisioningFactor);
                return true;
            }
            InetSocketAddress address = new InetSocketAddress(addresses.get(0), spec.port());
            if (!address.equals(logicalHost.address())) {
                logger.info("cluster {}: {} now resolves to {}", cluster.name(), spec.address(), address);
                logicalHost.updateAddress(address);
                return true;
            }
            return false;
        }
        Map<String, Host> previous = UpstreamCluster.byAddress(cluster.hosts());
        List<Host> hosts = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            Endpoints.Spec spec = specs.get(i);
            for (InetAddress a : resolved.get(i)) {
                Host prev = previous.get(Host.toString(new InetSocketAddress(a, spec.port())));
                hosts.add(spec.toHost(a, prev));
            }
        }
        if (!sameAddresses(hosts, cluster.hosts())) {
            cluster.setHosts(hosts, cluster.overprovisioningFactor);
            return true;
        }
        return false;
    }

    private static boolean sameAddresses(List<Host> a, List<Host> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).addressString().equals(b.get(i).addressString())) {
                return false;
            }
        }
        return true;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            loop.execute(() -> {
                if (next != null) {
                    next.cancel(false);
                }
                resolver.close();
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The event loop group is already shut down: its channels and timers are gone with it.
            logger.debug("cluster {}: event loop already shut down", cluster.name());
        }
    }
}

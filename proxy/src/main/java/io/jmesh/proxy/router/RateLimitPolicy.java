package io.jmesh.proxy.router;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.envoyproxy.envoy.config.route.v3.RateLimit;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.RequestAttributes;

/**
 * A compiled {@code envoy.config.route.v3.RateLimit}: its {@code stage} and the actions that turn a request into one
 * rate limit descriptor (a list of key/value entries), as Envoy's {@code RateLimitPolicyEntryImpl} does. The
 * descriptor is produced only when every action produces its entry (or is skipped by {@code skip_if_absent}); an
 * action that cannot (a missing header) drops the whole descriptor.
 *
 * <p>Actions: {@code source_cluster}, {@code destination_cluster}, {@code request_headers}, {@code remote_address},
 * {@code masked_remote_address}, {@code generic_key}, {@code header_value_match}. Others ({@code query_parameters},
 * {@code metadata}, {@code dynamic_metadata}, {@code extension}, {@code query_parameter_value_match}), {@code limit},
 * {@code hits_addend}, {@code disable_key} and {@code apply_on_stream_done} are refused by name. Immutable and
 * thread-safe; the same policy serves HTTP, RPC (headers are the Bolt header map / Dubbo attachments) and TCP.
 */
public final class RateLimitPolicy {

    /** One descriptor entry. */
    public record Entry(String key, String value) {}

    /** What the actions read besides the request: the route's cluster and this proxy's own cluster. */
    public interface Context {
        /** {@code node.cluster} of the bootstrap ({@code source_cluster}); may be empty. */
        String localServiceCluster();

        /** The cluster the request is routed to ({@code destination_cluster}), or null. */
        String destinationCluster();
    }

    private interface Action {
        /** Adds the entry; returns false when the descriptor cannot be made. */
        boolean populate(List<Entry> out, RequestAttributes request, Context context);
    }

    private final int stage;
    private final Action[] actions;

    private RateLimitPolicy(int stage, Action[] actions) {
        this.stage = stage;
        this.actions = actions;
    }

    /** The policy's {@code stage} (0 when unset). */
    public int stage() {
        return stage;
    }

    /**
     * The descriptor of {@code request}, or null when an action could not produce its entry (Envoy then sends no
     * descriptor for this policy).
     */
    public List<Entry> descriptor(RequestAttributes request, Context context) {
        List<Entry> out = new ArrayList<>(actions.length);
        for (Action a : actions) {
            if (!a.populate(out, request, context)) {
                return null;
            }
        }
        return out.isEmpty() ? null : out;
    }

    /** Compiles a list of {@code rate_limits}; {@code path} names it in errors. */
    public static List<RateLimitPolicy> fromList(List<RateLimit> limits, String path) throws ConfigException {
        if (limits.isEmpty()) {
            return List.of();
        }
        List<RateLimitPolicy> out = new ArrayList<>(limits.size());
        for (int i = 0; i < limits.size(); i++) {
            out.add(from(limits.get(i), path + '[' + i + ']'));
        }
        return List.copyOf(out);
    }

    /** Compiles one {@code RateLimit}; {@code path} names it in errors. */
    public static RateLimitPolicy from(RateLimit rl, String path) throws ConfigException {
        int stage = rl.hasStage() ? rl.getStage().getValue() : 0;
        if (stage > 10) {
            throw new ConfigException(path + ".stage: " + stage + " (expected: <= 10)");
        }
        if (!rl.getDisableKey().isEmpty()) {
            throw new ConfigException(path + ".disable_key: " + rl.getDisableKey() + " (expected: unset; runtime keys"
                    + " are not supported)");
        }
        if (rl.hasLimit()) {
            throw new ConfigException(path + ".limit: set (expected: unset; dynamic metadata overrides are not"
                    + " supported)");
        }
        if (rl.hasHitsAddend()) {
            throw new ConfigException(path + ".hits_addend: set (expected: unset)");
        }
        if (rl.getApplyOnStreamDone()) {
            throw new ConfigException(path + ".apply_on_stream_done: true (expected: false)");
        }
        if (rl.getActionsCount() == 0) {
            throw new ConfigException(path + ".actions: [] (expected: at least one action)");
        }
        Action[] actions = new Action[rl.getActionsCount()];
        for (int i = 0; i < actions.length; i++) {
            actions[i] = action(rl.getActions(i), path + ".actions[" + i + ']');
        }
        return new RateLimitPolicy(stage, actions);
    }

    private static Action action(RateLimit.Action a, String path) throws ConfigException {
        switch (a.getActionSpecifierCase()) {
            case SOURCE_CLUSTER:
                return (out, r, c) -> out.add(new Entry("source_cluster", c.localServiceCluster()));
            case DESTINATION_CLUSTER:
                return (out, r, c) -> {
                    String cluster = c.destinationCluster();
                    return cluster != null && !cluster.isEmpty() && out.add(new Entry("destination_cluster", cluster));
                };
            case REQUEST_HEADERS: {
                RateLimit.Action.RequestHeaders h = a.getRequestHeaders();
                String name = StringMatch.nonEmpty(h.getHeaderName(), path + ".request_headers.header_name")
                        .toLowerCase(Locale.ROOT);
                String header = "host".equals(name) ? ":authority" : name;
                String key = StringMatch.nonEmpty(h.getDescriptorKey(), path + ".request_headers.descriptor_key");
                boolean skip = h.getSkipIfAbsent();
                return (out, r, c) -> {
                    String v = r.header(header);
                    if (v == null) {
                        return skip;
                    }
                    return out.add(new Entry(key, v));
                };
            }
            case REMOTE_ADDRESS:
                return (out, r, c) -> {
                    InetSocketAddress remote = r.connection() == null ? null : r.connection().remoteAddress();
                    if (remote == null || remote.getAddress() == null) {
                        return false;
                    }
                    return out.add(new Entry("remote_address", remote.getAddress().getHostAddress()));
                };
            case MASKED_REMOTE_ADDRESS: {
                RateLimit.Action.MaskedRemoteAddress m = a.getMaskedRemoteAddress();
                int v4 = m.hasV4PrefixMaskLen() ? m.getV4PrefixMaskLen().getValue() : 32;
                int v6 = m.hasV6PrefixMaskLen() ? m.getV6PrefixMaskLen().getValue() : 128;
                if (v4 > 32) {
                    throw new ConfigException(path + ".masked_remote_address.v4_prefix_mask_len: " + v4
                            + " (expected: <= 32)");
                }
                if (v6 > 128) {
                    throw new ConfigException(path + ".masked_remote_address.v6_prefix_mask_len: " + v6
                            + " (expected: <= 128)");
                }
                return (out, r, c) -> {
                    InetSocketAddress remote = r.connection() == null ? null : r.connection().remoteAddress();
                    if (remote == null || remote.getAddress() == null) {
                        return false;
                    }
                    return out.add(new Entry("masked_remote_address", mask(remote.getAddress(), v4, v6)));
                };
            }
            case GENERIC_KEY: {
                RateLimit.Action.GenericKey g = a.getGenericKey();
                String value = StringMatch.nonEmpty(g.getDescriptorValue(), path + ".generic_key.descriptor_value");
                Entry e = new Entry(g.getDescriptorKey().isEmpty() ? "generic_key" : g.getDescriptorKey(), value);
                return (out, r, c) -> out.add(e);
            }
            case HEADER_VALUE_MATCH: {
                RateLimit.Action.HeaderValueMatch h = a.getHeaderValueMatch();
                String hp = path + ".header_value_match";
                String value = StringMatch.nonEmpty(h.getDescriptorValue(), hp + ".descriptor_value");
                Entry e = new Entry(h.getDescriptorKey().isEmpty() ? "header_match" : h.getDescriptorKey(), value);
                boolean expect = !h.hasExpectMatch() || h.getExpectMatch().getValue();
                if (h.getHeadersCount() == 0) {
                    throw new ConfigException(hp + ".headers: [] (expected: at least one header matcher)");
                }
                HeaderMatch[] matchers = new HeaderMatch[h.getHeadersCount()];
                for (int i = 0; i < matchers.length; i++) {
                    matchers[i] = HeaderMatch.from(h.getHeaders(i), hp + ".headers[" + i + ']');
                }
                return (out, r, c) -> {
                    boolean all = true;
                    for (HeaderMatch m : matchers) {
                        if (!m.matches(r::header)) {
                            all = false;
                            break;
                        }
                    }
                    return all == expect && out.add(e);
                };
            }
            default:
                throw new ConfigException(path + ": " + a.getActionSpecifierCase().name().toLowerCase(Locale.ROOT)
                        + " (expected: one of source_cluster, destination_cluster, request_headers, remote_address,"
                        + " masked_remote_address, generic_key, header_value_match)");
        }
    }

    /** {@code address} masked to its prefix, as CIDR text ({@code 10.1.0.0/16}). */
    static String mask(InetAddress address, int v4, int v6) {
        byte[] b = address.getAddress();
        int len = address instanceof Inet4Address ? v4 : v6;
        for (int bit = len; bit < b.length * 8; bit++) {
            b[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        try {
            return InetAddress.getByAddress(b).getHostAddress() + '/' + len;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}

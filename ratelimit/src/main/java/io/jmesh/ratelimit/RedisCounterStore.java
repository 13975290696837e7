package io.jmesh.ratelimit;

import java.util.ArrayList;
import java.util.List;

import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.Response;

/**
 * Counters in Redis, as envoyproxy/ratelimit keeps them: per key {@code INCRBY key hits} and {@code EXPIRE key
 * window}, all of a request's keys in one pipeline (one round trip). Replicas sharing a Redis count together.
 * Connections come from the pool of a Jedis {@link RedisClient}.
 */
public final class RedisCounterStore implements CounterStore {

    private final RedisClient client;

    /** A store on the Redis at {@code hostPort} ({@code HOST:PORT}). */
    public RedisCounterStore(String hostPort) {
        this.client = RedisClient.create(HostAndPort.from(hostPort));
    }

    @Override
    public long[] increment(List<Increment> increments) {
        try (Pipeline p = client.pipelined()) {
            List<Response<Long>> values = new ArrayList<>(increments.size());
            for (Increment inc : increments) {
                values.add(p.incrBy(inc.key(), inc.hits()));
                p.expire(inc.key(), inc.expireSeconds());
            }
            p.sync();
            long[] out = new long[values.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = values.get(i).get();
            }
            return out;
        }
    }

    @Override
    public void close() {
        client.close();
    }
}

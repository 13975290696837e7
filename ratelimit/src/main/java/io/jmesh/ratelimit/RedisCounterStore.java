package io.jmesh.ratelimit;

import java.util.ArrayList;
import java.util.List;

import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Counters in Redis, as envoyproxy/ratelimit keeps them: per key {@code INCRBY key hits} and {@code EXPIRE key
 * window}, all of a request's keys in one pipeline (one round trip). Replicas sharing a Redis count together.
 * Connections come from a Jedis pool.
 */
public final class RedisCounterStore implements CounterStore {

    private final JedisPool pool;

    /** A store on the Redis at {@code hostPort} ({@code HOST:PORT}). */
    public RedisCounterStore(String hostPort) {
        HostAndPort hp = HostAndPort.from(hostPort);
        org.apache.commons.pool2.impl.GenericObjectPoolConfig<Jedis> cfg =
                new org.apache.commons.pool2.impl.GenericObjectPoolConfig<>();
        cfg.setMaxTotal(64);
        cfg.setMaxIdle(64);
        cfg.setJmxEnabled(false);
        this.pool = new JedisPool(cfg, hp.getHost(), hp.getPort(), 2000);
    }

    @Override
    public long[] increment(List<Increment> increments) {
        try (Jedis j = pool.getResource()) {
            Pipeline p = j.pipelined();
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
        pool.close();
    }
}

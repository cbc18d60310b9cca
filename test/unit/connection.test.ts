import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { BlockingReads } from '../../src/redis/blocking-reads.js';
import { connect, connectBlocking, disconnectNow, type RedisClient, type RedisOptions } from '../../src/redis/connection.js';
import { readEvents } from '../../src/redis/event-reader.js';

/** How a `{ url }` becomes an ioredis connection (lazyConnect: nothing is dialled). */
describe('connect({ url })', () => {
  it('reads the scheme in any case: REDISS:// turns TLS on as rediss:// does, REDIS:// does not', () => {
    const opened: RedisClient[] = [];
    try {
      for (const [url, tls] of [
        ['rediss://cache:6380', true],
        ['REDISS://cache:6380', true],
        ['RediSS://cache:6380', true],
        ['REDIS://cache:6380', false],
      ] as const) {
        const { client } = connect({ url, lazyConnect: true });
        const blocking = connectBlocking({ url, lazyConnect: true });
        opened.push(client, blocking);
        for (const c of [client, blocking]) {
          const options = c.options as RedisOptions;
          expect({ url, tls: Boolean(options.tls), host: options.host }).toEqual({ url, tls, host: 'cache' });
        }
      }
    } finally {
      for (const client of opened) client.disconnect();
    }
  });
});

/**
 * ioredis 5 leaves a command that a Cluster queued while reconnecting unanswered for good when the Cluster
 * is disconnected then (its pool is empty, so the 'drain' that rejects the queue never comes). A blocking
 * read must end with disconnectNow all the same, or a Worker's or QueueEvents' close waits for it forever.
 */
describe('disconnectNow on a Cluster that is reconnecting', () => {
  it('ends the blocking reads it queued: they reject as a dropped connection does', async () => {
    // Port 1 on loopback: nothing listens, so the Cluster never gets a node and keeps reconnecting.
    const blocking = connectBlocking({ cluster: [{ host: '127.0.0.1', port: 1 }], clusterOptions: { clusterRetryStrategy: () => 100 } });
    await new Promise<void>((resolve) => blocking.once('reconnecting', () => resolve()));
    const reads = new BlockingReads(blocking, blocking, queueKeys('drop', 'sluice', 1));
    const waiting = reads.waitForWork(['sluice:{drop}:ctl'], ['$'], 60_000).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    const events = readEvents(blocking, 'sluice:{drop}:events', '$', 60_000, 10).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    disconnectNow(blocking);
    expect(await waiting).toBe('Connection is closed.');
    expect(await events).toBe('Connection is closed.');
    // What ioredis does alone: the same read on a second such Cluster is still unanswered after its disconnect.
    const bare = connectBlocking({ cluster: [{ host: '127.0.0.1', port: 1 }], clusterOptions: { clusterRetryStrategy: () => 100 } });
    await new Promise<void>((resolve) => bare.once('reconnecting', () => resolve()));
    let settled = false;
    void bare.xread('COUNT', 1, 'BLOCK', 60_000, 'STREAMS', 'k', '$').then(
      () => (settled = true),
      () => (settled = true),
    );
    bare.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(settled).toBe(false);
  });
});

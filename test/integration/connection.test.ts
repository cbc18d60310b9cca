import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, RedisUnavailableError, Worker } from 'sluice';
import { freePort, uniqueQueue, useRedis } from '../harness/redis.js';

const redis = useRedis();

describe('connections', () => {
  it('uses an ioredis instance the caller owns, and leaves it open on close', async () => {
    const client = new Redis(redis.url);
    const name = uniqueQueue('instance');
    const queue = new Queue<{ n: number }, number>(name, { connection: client });
    const events = new QueueEvents(name, { connection: client });
    const worker = new Worker<{ n: number }, number>(name, async (job) => job.data.n + 1, { connection: client });
    const job = await queue.add('inc', { n: 41 });
    expect(await job.waitUntilFinished(events, 10_000)).toBe(42);
    await worker.close();
    await events.close();
    await queue.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('accepts ioredis options as well as a URL', async () => {
    const { port, hostname } = new URL(redis.url);
    const queue = new Queue(uniqueQueue('options'), { connection: { host: hostname, port: Number(port) } });
    expect((await queue.add('x', {})).id).toBe('1');
    await queue.close();
  });

  it('reloads its scripts when Redis forgot them (SCRIPT FLUSH, a restart): NOSCRIPT is handled', async () => {
    const admin = new Redis(redis.url);
    const queue = new Queue(uniqueQueue('noscript'), { connection: redis.connection });
    await queue.add('before', {});
    await admin.script('FLUSH');
    await queue.add('after', {});
    expect(await queue.getCounts()).toMatchObject({ waiting: 2 });
    await queue.close();
    await admin.quit();
  });

  it('lets many calls wait for the connection without a listener each (no MaxListenersExceededWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const queue = new Queue(uniqueQueue('many-waiting'), { connection: redis.connection });
    await Promise.all(Array.from({ length: 50 }, (_, i) => queue.add('x', { i })));
    expect((await queue.getCounts()).waiting).toBe(50);
    // Node emits the warning on the next tick after the 11th listener.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    await queue.close();
  });

  it('fails a producer fast with RedisUnavailableError when Redis cannot be reached, holding only so many calls', async () => {
    // A free port: nothing listens there, so the connection never comes up.
    const url = `redis://127.0.0.1:${await freePort()}`;
    const queue = new Queue(uniqueQueue('unreachable'), { connection: { url }, offlineTimeout: 300, maxOfflineCalls: 2 });
    const started = performance.now();
    const held = [queue.add('a', {}), queue.add('b', {})].map((call) => call.catch((error: unknown) => error));
    // The third call finds two already waiting: refused at once, not queued without bound.
    const third: unknown = await queue.add('c', {}).catch((error: unknown) => error);
    expect(third).toBeInstanceOf(RedisUnavailableError);
    expect((third as Error).message).toContain('maxOfflineCalls');
    for (const error of await Promise.all(held)) {
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect((error as Error).message).toMatch(/did not become reachable within 300 ms .*nothing was sent/);
    }
    // Bounded by offlineTimeout, not by ioredis' reconnect schedule; 5 s is a hang guard, not a speed bar.
    expect(performance.now() - started).toBeLessThan(5000);
    await queue.close();
  });
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BulkAddError, Job, Queue, RedisOutOfMemoryError, Worker } from 'sluice';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

let redis: SpawnedRedis;
let admin: Redis;
beforeAll(async () => {
  // 4 MB: a few thousand 2 KB jobs fill it within a second.
  redis = await spawnRedis(['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction']);
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
  await redis.stop();
});

describe('Redis out of memory (maxmemory with noeviction)', () => {
  it('rejects add() with RedisOutOfMemoryError, writes nothing of the refused call, and resumes when memory is freed', async () => {
    const name = uniqueQueue('oom');
    // Every completed job kept, so the completed count is the ledger (the default keeps the newest 1,000).
    const queue = new Queue<{ blob: string }>(name, { connection: { url: redis.url }, redisConfig: 'off', defaultJobOptions: { removeOnComplete: false } });
    const blob = 'x'.repeat(2000);
    const acknowledged: string[] = [];
    let refused: unknown;
    for (let i = 0; i < 10_000 && refused === undefined; i++) {
      try {
        const jobs = await queue.addBulk(Array.from({ length: 10 }, () => ({ name: 'fill', data: { blob } })));
        acknowledged.push(...jobs.map((job) => job.id));
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(RedisOutOfMemoryError);
    expect((refused as Error).message).toContain('Nothing was written');
    expect(acknowledged.length).toBeGreaterThan(100);
    // Another add while Redis is full is refused the same way, unless Redis freed some memory since (a reply
    // buffer, say: the limit counts them) and took it, which then counts as acknowledged like any other.
    const again: unknown = await queue.add('fill', { blob }).catch((error: unknown) => error);
    if (again instanceof Job) acknowledged.push(again.id);
    else expect(again).toBeInstanceOf(RedisOutOfMemoryError);

    // Nothing half-written: exactly the acknowledged jobs exist, each as its stream entry "<id>-0" (a job added
    // ready with a generated id has no hash, see lua/includes/entry.lua).
    const entries = await admin.xrange(`sluice:{${name}}:wait:1`, '-', '+');
    expect(new Set(entries.map(([entry]) => entry.slice(0, -2)))).toEqual(new Set(acknowledged));
    expect(entries).toHaveLength(acknowledged.length);
    expect(await admin.keys(`sluice:{${name}}:job:*`)).toEqual([]);
    // The process survives and the queue keeps answering reads.
    expect((await queue.getCounts()).waiting).toBe(acknowledged.length);

    // Memory freed (here: the limit raised, as an operator would): adds resume and everything runs.
    await admin.config('SET', 'maxmemory', '0');
    const after = await queue.add('after', { blob: 'ok' });
    const worker = new Worker(name, async () => 'done', { connection: { url: redis.url }, concurrency: 50, redisConfig: 'off' });
    await waitFor('every job to complete', async () => (await queue.getCounts()).completed === acknowledged.length + 1, 30_000);
    expect((await queue.getJob(after.id))?.state).toBe('completed');
    await worker.close();
    await queue.close();
  }, 60_000);

  it('reports a bulk that ran out of memory half way exactly: which jobs were written, which to retry', async () => {
    await admin.flushall();
    await admin.config('SET', 'maxmemory', '6mb');
    const name = uniqueQueue('oom-bulk');
    const queue = new Queue<{ i: number; blob: string }>(name, { connection: { url: redis.url }, redisConfig: 'off' });
    const blob = 'y'.repeat(1000);
    const total = 20_000;
    const input = Array.from({ length: total }, (_, i) => ({ name: 'n', data: { i, blob }, opts: { jobId: `b-${i}` } }));
    const error: unknown = await queue.addBulk(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkAddError);
    const partial = error as BulkAddError<{ id: string }>;
    expect(partial.added.length).toBeGreaterThan(0);
    expect(partial.added.length + partial.failed.length).toBe(total);
    expect(partial.failed.every((f) => f.error instanceof RedisOutOfMemoryError)).toBe(true);
    expect(partial.message).toContain(`addBulk wrote ${partial.added.length} of ${total} jobs`);
    // Exactly what it says: the written ids exist, the failed ones do not.
    const keys = await admin.keys(`sluice:{${name}}:job:*`);
    expect(new Set(keys.map((key) => key.slice(key.lastIndexOf(':') + 1)))).toEqual(new Set(partial.added.map((job) => job.id)));
    const failedIds = new Set(partial.failed.map((f) => `b-${f.index}`));
    expect(partial.added.some((job) => failedIds.has(job.id))).toBe(false);

    // Retrying exactly the failed indexes, once memory is back, completes the set.
    await admin.config('SET', 'maxmemory', '0');
    const retried = await queue.addBulk(partial.failed.map((f) => input[f.index] as (typeof input)[number]));
    expect(retried).toHaveLength(partial.failed.length);
    expect((await queue.getCounts()).waiting).toBe(total);
    await queue.close();
  }, 60_000);
});

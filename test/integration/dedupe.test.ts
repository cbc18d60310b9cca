import { describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('jobId idempotency', () => {
  it('keeps one job per jobId when two processes add the same ids at the same moment', async () => {
    const name = uniqueQueue('dedupe');
    const count = 300;
    const env = { REDIS_URL: redis.url, QUEUE: name, COUNT: String(count) };
    const producers = [runFixture('add-jobs', env), runFixture('add-jobs', env)];
    // Both processes are up (tsx loaded) before either adds: then they really race.
    await waitFor('both producers ready', () => producers.every((p) => p.lines.includes('ready')), 30_000);
    for (const producer of producers) producer.process.stdin?.end('go\n');
    expect(await Promise.all(producers.map((p) => p.exited))).toEqual([0, 0]);
    await waitFor('both outputs', () => producers.every((p) => p.lines.length > 1));
    const [a, b] = producers.map((p) => JSON.parse(p.lines[1]!) as Record<string, number>) as [Record<string, number>, Record<string, number>];
    expect(Object.keys(a)).toHaveLength(count);
    expect(Object.keys(b)).toHaveLength(count);

    const queue = new Queue<{ writer: number }>(name, { connection: redis.connection });
    expect(await queue.getCounts()).toMatchObject({ waiting: count, delayed: 0 });
    for (let i = 0; i < count; i++) {
      const id = `order-${i}`;
      const stored = await queue.getJob(id);
      // Whoever lost the race got the winner's job back, not a copy of its own.
      expect(a[id]).toBe(stored?.data.writer);
      expect(b[id]).toBe(stored?.data.writer);
    }
    await queue.close();
  }, 60_000);

  it('returns the existing job for a repeated jobId in the same process, writing nothing', async () => {
    const queue = new Queue<{ v: number }>(uniqueQueue('dedupe'), { connection: redis.connection });
    const first = await queue.add('x', { v: 1 }, { jobId: 'invoice-7' });
    const second = await queue.add('x', { v: 2 }, { jobId: 'invoice-7' });
    const [third, fourth] = await queue.addBulk([
      { name: 'x', data: { v: 3 }, opts: { jobId: 'invoice-7' } },
      { name: 'x', data: { v: 4 }, opts: { jobId: 'invoice-8' } },
    ]);
    expect([first.id, second.id, third?.id, fourth?.id]).toEqual(['invoice-7', 'invoice-7', 'invoice-7', 'invoice-8']);
    expect([second.data.v, third?.data.v]).toEqual([1, 1]);
    expect([first.deduplicated, second.deduplicated, third?.deduplicated, fourth?.deduplicated]).toEqual([false, true, true, false]);
    expect(await queue.getCounts()).toMatchObject({ waiting: 2 });
    await queue.close();
  });
});

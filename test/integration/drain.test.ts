import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('queue.drain', () => {
  it('removes waiting and delayed jobs in steps, keeps the running ones (which complete), with a removed event each', async () => {
    const name = uniqueQueue('drain');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    let removedEvents = 0;
    events.on('removed', () => removedEvents++);
    await events.waitUntilReady();
    const release: (() => void)[] = [];
    const worker = new Worker<{ n: number }>(name, () => new Promise<number>((resolve) => release.push(() => resolve(1))), {
      connection: redis.connection,
      concurrency: 3,
    });
    await queue.addBulk(Array.from({ length: 3 }, (_, n) => ({ name: 'run', data: { n } })));
    await waitFor('three running', () => release.length === 3);
    // Every slot is busy: what is added now waits.
    const jobs = Array.from({ length: 2500 }, (_, n) => ({
      name: 'wait',
      data: { n },
      opts: n % 5 === 0 ? { delay: 60_000 } : n % 7 === 0 ? { group: `g${n % 3}` } : n % 11 === 0 ? { labels: ['x'] } : {},
    }));
    await queue.addBulk(jobs);
    expect(await queue.drain()).toBe(2500);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, paused: 0, delayed: 0, active: 3 });
    expect(await queue.getLabels()).toEqual([]);
    await waitFor('a removed event per job', () => removedEvents === 2500);
    for (const done of release) done();
    await waitFor('the running jobs completed', async () => (await queue.getCounts()).completed === 3);
    expect(await queue.drain()).toBe(0);
    await worker.close();
    await events.close();
    await queue.close();
  }, 30_000);
});

// A partitioned Worker under control, as one worker: its loops (one per partition) share its pause, its
// one pool of slots (resized by the concurrency setter), its middleware and its close({ force }); it has one
// name, so queue.getWorkers() lists it once and job.processedBy names it on every partition. And the
// queue-wide concurrency and a smooth rate limit on a partitioned queue, split into shares.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, PartitionedQueueError, Queue, Worker, type Job } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { partitionOfId } from '../../src/partitions/routing.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
});

const options = (partitions: number): { connection: { url: string }; partitions: number; redisConfig: 'off' } => ({
  connection: redis.connection,
  partitions,
  redisConfig: 'off',
});

/** Jobs whose handlers wait until the test lets them go. */
function gatedJobs(): { handler: (job: Job) => Promise<string>; started: string[]; release: () => void; running: () => number } {
  const waiting = new Map<string, () => void>();
  const started: string[] = [];
  return {
    started,
    running: () => waiting.size,
    handler: (job) =>
      new Promise<string>((resolve) => {
        started.push(job.id);
        waiting.set(job.id, () => {
          waiting.delete(job.id);
          resolve(job.id);
        });
      }),
    release: () => {
      for (const go of [...waiting.values()]) go();
    },
  };
}

describe('a partitioned Worker is one worker to control', () => {
  it('shares one pool of slots: the concurrency setter resizes it over every partition', async () => {
    const name = uniqueQueue('parts-concurrency');
    const queue = new Queue(name, options(3));
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { ...options(3), concurrency: 1, blockTimeout: 60_000 });
    await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: `j${i}`, data: {} })));
    await waitFor('one job', () => jobs.started.length === 1);
    await sleep(200);
    expect(jobs.running()).toBe(1);
    worker.concurrency = 6;
    expect(worker.concurrency).toBe(6);
    await waitFor('six at once', () => jobs.running() === 6, 3_000);
    // Over the partitions, not from one alone.
    expect(new Set(jobs.started.map((id) => partitionOfId(id, 3))).size).toBeGreaterThan(1);
    worker.concurrency = 2;
    await sleep(200);
    // Lowered: the six go on, nothing new starts on any partition.
    expect(jobs.started).toHaveLength(6);
    jobs.release();
    await waitFor('two more', () => jobs.started.length === 8);
    await sleep(200);
    expect(jobs.running()).toBe(2);
    expect(worker.running).toBe(2);
    for (let round = 0; round < 2; round++) {
      jobs.release();
      await waitFor(`two more (${round})`, () => jobs.started.length === 10 + 2 * round);
    }
    jobs.release();
    await waitFor('all done', async () => (await queue.getCounts()).completed === 12);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('pause stops every partition claiming, waitForActive waits for all; resume claims again on each', async () => {
    const name = uniqueQueue('parts-pause');
    const queue = new Queue(name, options(3));
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { ...options(3), concurrency: 6, blockTimeout: 60_000 });
    await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: `a${i}`, data: {} })));
    await waitFor('three jobs, one per partition', () => jobs.started.length === 3);
    expect(new Set(jobs.started.map((id) => partitionOfId(id, 3))).size).toBe(3);
    let paused = false;
    const pausing = worker.pause({ waitForActive: true }).then(() => (paused = true));
    await sleep(200);
    expect(paused).toBe(false);
    expect(worker.isPaused).toBe(true);
    jobs.release();
    await pausing;
    expect((await queue.getCounts()).completed).toBe(3);
    // Free slots and waiting jobs on every partition, and still nothing claimed.
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: `b${i}`, data: {} })));
    await sleep(400);
    expect(jobs.started).toHaveLength(3);
    expect(await queue.getCounts()).toMatchObject({ waiting: 6, active: 0 });
    worker.resume();
    expect(worker.isPaused).toBe(false);
    await waitFor('all six after resume', () => jobs.started.length === 9);
    expect(new Set(jobs.started.slice(3).map((id) => partitionOfId(id, 3))).size).toBe(3);
    jobs.release();
    await waitFor('all done', async () => (await queue.getCounts()).completed === 9);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('is listed once by getWorkers, with the whole worker in its beat; processedBy names it on every partition', async () => {
    const name = uniqueQueue('parts-workers');
    const queue = new Queue(name, options(3));
    expect(await queue.getWorkers()).toEqual([]);
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { ...options(3), concurrency: 5, stalledTimeout: 900 });
    const subset = new Worker(name, jobs.handler, { ...options(3), concurrency: 2, stalledTimeout: 900, consumePartitions: [1, 2], name: 'subset' });
    await waitFor('both listed', async () => (await queue.getWorkers()).length === 2);
    const listed = await queue.getWorkers();
    expect(listed.map((w) => w.id).sort()).toEqual([worker.consumer, subset.consumer].sort());
    // Each partition's registry holds the worker's one name.
    for (let p = 0; p < 3; p++) {
      const ids = await admin.zrange(queueKeys(name, 'sluice', 3, { index: p, count: 3 }).workers, '0', '-1');
      expect(ids.sort()).toEqual((p === 0 ? [worker.consumer] : [worker.consumer, subset.consumer]).sort());
    }
    await subset.close();
    const added = await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: `j${i}`, data: {} })));
    expect(new Set(added.map((job) => partitionOfId(job.id, 3))).size).toBe(3);
    await waitFor('three running', () => jobs.running() === 3);
    for (const job of added) expect((await queue.getJob(job.id))?.processedBy).toBe(worker.consumer);
    await worker.pause();
    await waitFor('the beats to say so', async () => {
      const [only] = await queue.getWorkers();
      return only?.running === 3 && only.paused && only.concurrency === 5;
    });
    expect(await queue.getWorkers()).toHaveLength(1);
    jobs.release();
    await waitFor('completed', async () => (await queue.getCounts()).completed === 3);
    for (const job of added) expect((await queue.getJob(job.id))?.processedBy).toBe(worker.consumer);
    await worker.close();
    expect(await queue.getWorkers()).toEqual([]);
    await queue.obliterate();
    await queue.close();
  });

  it('runs every partition’s jobs through its middleware; close({ force }) gives back the jobs of every partition', async () => {
    const name = uniqueQueue('parts-force');
    const queue = new Queue(name, options(3));
    const wrapped: string[] = [];
    const aborted: unknown[] = [];
    const worker = new Worker(
      name,
      (_job, ctx) =>
        new Promise<never>(() => {
          ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason));
        }),
      { ...options(3), concurrency: 6, autorun: false },
    );
    worker.use(async (job, _ctx, next) => {
      wrapped.push(job.id);
      return next();
    });
    void worker.run();
    const added = await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: `j${i}`, data: {} })));
    await waitFor('three running', async () => (await queue.getCounts()).active === 3);
    expect(wrapped.sort()).toEqual(added.map((job) => job.id).sort());
    await worker.close({ force: true });
    expect(aborted).toHaveLength(3);
    expect(aborted.every((reason) => reason instanceof ClosedError)).toBe(true);
    expect(await queue.getCounts()).toMatchObject({ waiting: 3, active: 0, failed: 0 });
    for (const job of added) expect(await queue.getJob(job.id)).toMatchObject({ state: 'waiting', attemptsMade: 0 });
    await queue.obliterate();
    await queue.close();
  });
});

describe('queue-wide limits on a partitioned queue', () => {
  it('splits a queue-wide concurrency into one share per partition, held exactly', async () => {
    const name = uniqueQueue('parts-queue-concurrency');
    const queue = new Queue(name, options(3));
    await expect(queue.setConcurrency(2)).rejects.toBeInstanceOf(PartitionedQueueError);
    expect(await queue.getConcurrency()).toBeNull();
    await queue.setConcurrency(5);
    expect(await queue.getConcurrency()).toBe(5);
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { ...options(3), concurrency: 20 });
    await queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: `j${i}`, data: {} })));
    // Shares 2, 2, 1: every partition has work, so all five run, and no more.
    await waitFor('five running', () => jobs.running() === 5);
    await sleep(300);
    expect(jobs.running()).toBe(5);
    const perPartition = [0, 0, 0];
    for (const id of jobs.started) perPartition[partitionOfId(id, 3)]! += 1;
    expect(perPartition).toEqual([2, 2, 1]);
    await queue.removeConcurrency();
    expect(await queue.getConcurrency()).toBeNull();
    // Removed: the waiting jobs start up to the worker's own 20 (each share's holder is woken).
    await waitFor('twenty running', () => jobs.running() === 20);
    while ((await queue.getCounts()).completed < 30) {
      jobs.release();
      await sleep(50);
    }
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('splits a smooth rate limit, its burst at least 1 per partition, and reads it back whole', async () => {
    const name = uniqueQueue('parts-smooth');
    const queue = new Queue(name, options(3));
    await queue.setRateLimit({ max: 7, duration: 700, smooth: true, burst: 5 });
    expect(await queue.getRateLimit()).toEqual({ max: 7, duration: 700, smooth: true, burst: 5 });
    await queue.setRateLimit({ max: 6, duration: 600, smooth: true });
    // burst 1 cannot be split 3 ways: each partition keeps 1.
    expect(await queue.getRateLimit()).toEqual({ max: 6, duration: 600, smooth: true, burst: 3 });
    expect((await queue.getRateWindow()).limit).toEqual({ max: 6, duration: 600, smooth: true, burst: 3 });
    await queue.setRateLimit({ max: 6, duration: 600 });
    expect(await queue.getRateLimit()).toEqual({ max: 6, duration: 600 });
    await queue.obliterate();
    await queue.close();
  });
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigMismatchError, PartitionedQueueError, Queue, QueueEvents, Scheduler, ValidationError, Worker } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { ID_SPAN, partitionOfGroup, partitionOfId } from '../../src/partitions/routing.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * Partitioned queues on one Redis: every partition's keys are on the same server, so what is checked here
 * is the layer itself (routing, ids, aggregation, shared slots, the recorded count). Placement on a
 * cluster's masters and a cluster under load are in test/fault/partitions-cluster.test.ts.
 */
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

describe('partitioned queues on one Redis', () => {
  it('spreads plain jobs evenly, and a generated id names its partition', async () => {
    const name = uniqueQueue('parts-spread');
    const queue = new Queue<{ n: number }>(name, options(3));
    const jobs = await queue.addBulk(Array.from({ length: 300 }, (_, n) => ({ name: 'x', data: { n } })));
    const per = [0, 0, 0];
    for (const job of jobs) per[partitionOfId(job.id, 3)]! += 1;
    expect(per).toEqual([100, 100, 100]);
    // Partition p's ids start above p * 10^13.
    expect(jobs.some((job) => Number(job.id) > 2 * ID_SPAN)).toBe(true);
    for (const job of [jobs[0]!, jobs[1]!, jobs[2]!]) expect((await queue.getJob(job.id))?.data).toEqual(job.data);
    expect(await queue.getCounts()).toMatchObject({ waiting: 300 });
    // Each partition's own keys hold its share.
    for (let p = 0; p < 3; p++) {
      const keys = queueKeys(name, 'sluice', 3, { index: p, count: 3 });
      const lengths = await Promise.all(keys.wait.map((stream) => admin.xlen(stream)));
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(100);
    }
    await queue.obliterate();
    await queue.close();
  });

  it('routes by group, then by jobId; getJob finds both kinds, and dedupe by id holds', async () => {
    const name = uniqueQueue('parts-route');
    const queue = new Queue<{ n: number }>(name, options(4));
    const grouped = await queue.addBulk(Array.from({ length: 40 }, (_, n) => ({ name: 'g', data: { n }, opts: { group: `tenant-${n % 5}` } })));
    for (const job of grouped) expect(partitionOfId(job.id, 4)).toBe(partitionOfGroup(job.group!, 4));
    const given = await queue.add('given', { n: 1 }, { jobId: 'order-17' });
    expect(given.id).toBe('order-17');
    const again = await queue.add('given', { n: 2 }, { jobId: 'order-17' });
    expect(again.data).toEqual({ n: 1 });
    // A grouped job with an id of its own lives with its group; getJob still finds it.
    const both = await queue.add('both', { n: 3 }, { jobId: 'invoice-9', group: 'tenant-2' });
    expect((await queue.getJob('invoice-9'))?.group).toBe('tenant-2');
    expect((await queue.getJob(both.id))?.data).toEqual({ n: 3 });
    expect((await queue.getJob('order-17'))?.data).toEqual({ n: 1 });
    expect(await queue.getJob('missing-1')).toBeUndefined();
    expect(await queue.getJob(String(4 * ID_SPAN + 1))).toBeUndefined();
    expect((await queue.getGroup('tenant-2')).waiting).toBe(9);
    expect(await queue.getCounts()).toMatchObject({ waiting: 42 });
    await queue.obliterate();
    await queue.close();
  });

  it('one worker drains every partition at its concurrency, each job once, and the counts are exact', async () => {
    const name = uniqueQueue('parts-drain');
    const queue = new Queue<{ n: number }, number>(name, options(3));
    let running = 0;
    let most = 0;
    const seen = new Map<number, number>();
    const worker = new Worker<{ n: number }, number>(
      name,
      async (job) => {
        running++;
        most = Math.max(most, running);
        seen.set(job.data.n, (seen.get(job.data.n) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        return job.data.n;
      },
      { ...options(3), concurrency: 8 },
    );
    let completed = 0;
    worker.on('completed', () => completed++);
    await queue.addBulk(Array.from({ length: 600 }, (_, n) => ({ name: 'x', data: { n } })));
    await waitFor('600 completed', () => completed === 600, 30_000);
    expect(most).toBeLessThanOrEqual(8);
    expect(seen.size).toBe(600);
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, blocked: 0, completed: 600, failed: 0, paused: 0, limited: 0 });
    const page = await queue.getJobs('completed', 0, 9);
    expect(page).toHaveLength(10);
    for (let i = 1; i < page.length; i++) expect(page[i - 1]!.finishedOn!).toBeGreaterThanOrEqual(page[i]!.finishedOn!);
    const metrics = await queue.getMetrics();
    expect(metrics.completedTotal).toBe(600);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('at concurrency 1 one job runs at a time, and every partition is served', async () => {
    const name = uniqueQueue('parts-c1');
    const queue = new Queue(name, options(3));
    let running = 0;
    let most = 0;
    const ids: string[] = [];
    const worker = new Worker(
      name,
      async (job) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        ids.push(job.id);
        running--;
      },
      options(3),
    );
    await queue.addBulk(Array.from({ length: 30 }, () => ({ name: 'x', data: {} })));
    await waitFor('30 done', () => ids.length === 30);
    expect(most).toBe(1);
    // Served in turn: no partition waits for the others to drain.
    expect(new Set(ids.slice(0, 6).map((id) => partitionOfId(id, 3))).size).toBeGreaterThan(1);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('an idle worker blocked on every partition wakes for a job on any of them', async () => {
    const name = uniqueQueue('parts-wake');
    const queue = new Queue(name, options(3));
    const started: string[] = [];
    const worker = new Worker(name, async (job) => void started.push(job.id), { ...options(3), blockTimeout: 30_000 });
    await queue.add('warm', {});
    await waitFor('warm-up job', () => started.length === 1);
    // Past the warm-up every loop is blocked; each add lands on the next partition in turn.
    for (let i = 0; i < 3; i++) {
      const at = performance.now();
      const job = await queue.add('x', {});
      await waitFor(`job ${job.id}`, () => started.includes(job.id), 5_000);
      // Far below blockTimeout: woken by the add, not by a timeout.
      expect(performance.now() - at).toBeLessThan(2_000);
    }
    expect(new Set(started.slice(1).map((id) => partitionOfId(id, 3))).size).toBe(3);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('QueueEvents reads every partition (the count Redis recorded), and waitUntilFinished works on each', async () => {
    const name = uniqueQueue('parts-events');
    const queue = new Queue<{ n: number }, number>(name, options(3));
    await queue.add('warm', { n: 0 });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const completed: string[] = [];
    let paused = 0;
    events.on('completed', ({ jobId }) => completed.push(jobId));
    events.on('paused', () => paused++);
    await queue.pause();
    await queue.resume();
    const jobs = await queue.addBulk(Array.from({ length: 9 }, (_, n) => ({ name: 'x', data: { n } })));
    expect(new Set(jobs.map((job) => partitionOfId(job.id, 3))).size).toBe(3);
    const worker = new Worker<{ n: number }, number>(name, async (job) => job.data.n * 10, { ...options(3), concurrency: 4 });
    const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 10_000)));
    expect(results).toEqual(jobs.map((job) => job.data.n * 10));
    await waitFor('10 completed events', () => completed.length === 10);
    // One paused event for the queue, not one per partition.
    expect(paused).toBe(1);
    await worker.close();
    await events.close();
    await queue.obliterate();
    await queue.close();
  });

  it('a worker may take a subset of the partitions', async () => {
    const name = uniqueQueue('parts-subset');
    const queue = new Queue(name, options(3));
    const ids: string[] = [];
    const worker = new Worker(name, async (job) => void ids.push(job.id), { ...options(3), consumePartitions: [1, 2], concurrency: 4 });
    await queue.addBulk(Array.from({ length: 30 }, () => ({ name: 'x', data: {} })));
    await waitFor('20 done', () => ids.length === 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ids).toHaveLength(20);
    expect(ids.every((id) => partitionOfId(id, 3) !== 0)).toBe(true);
    expect(await queue.getCounts()).toMatchObject({ waiting: 10, completed: 20 });
    expect(() => new Worker(name, async () => undefined, { ...options(3), consumePartitions: [3] })).toThrow(ValidationError);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('pause and resume reach every partition', async () => {
    const name = uniqueQueue('parts-pause');
    const queue = new Queue(name, options(3));
    await queue.pause();
    let done = 0;
    const worker = new Worker(name, async () => void done++, { ...options(3), concurrency: 4 });
    await queue.addBulk(Array.from({ length: 30 }, () => ({ name: 'x', data: {} })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(0);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, paused: 30 });
    expect((await queue.getMetrics()).isPaused).toBe(true);
    await queue.resume();
    await waitFor('30 done', () => done === 30);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('records the partition count and refuses another one', async () => {
    const name = uniqueQueue('parts-record');
    const queue = new Queue(name, options(3));
    await queue.add('x', {});
    expect(await admin.hget(queueKeys(name, 'sluice', 3).meta, 'parts')).toBe('3');
    for (const other of [1, 2, 4]) {
      const wrong = new Queue(name, options(other));
      await expect(wrong.add('x', {})).rejects.toBeInstanceOf(ConfigMismatchError);
      await expect(wrong.getCounts()).rejects.toThrow(/created with partitions 3/);
      await wrong.close();
    }
    expect(() => new Queue(name, options(101))).toThrow(ValidationError);
    // A queue created unpartitioned is not opened partitioned either.
    const plain = uniqueQueue('parts-plain');
    const single = new Queue(plain, { connection: redis.connection, redisConfig: 'off' });
    await single.add('x', {});
    const split = new Queue(plain, options(2));
    await expect(split.add('x', {})).rejects.toThrow(/created with partitions 1/);
    await Promise.all([split.close(), single.obliterate()]);
    await single.close();
    await queue.obliterate();
    // Obliterate leaves no key of any partition.
    expect(await admin.keys(`sluice:{${name}*`)).toEqual([]);
    await queue.close();
  });

  it('holds a queue-wide rate limit exactly, split into one share per partition', async () => {
    const name = uniqueQueue('parts-rate');
    const queue = new Queue<{ n: number }>(name, { ...options(3), rateLimit: { max: 6, duration: 500 } });
    expect(() => new Queue(name, { ...options(3), rateLimit: { max: 2, duration: 1000 } })).toThrow(PartitionedQueueError);
    await expect(queue.setRateLimit({ max: 2, duration: 1000 })).rejects.toBeInstanceOf(PartitionedQueueError);
    await queue.addBulk(Array.from({ length: 18 }, (_, n) => ({ name: 'x', data: { n } })));
    // Every partition has its share (2 of 6) before any job could start.
    expect(await queue.getRateLimit()).toEqual({ max: 6, duration: 500 });
    for (let p = 0; p < 3; p++) expect(await admin.hget(queueKeys(name, 'sluice', 3, { index: p, count: 3 }).meta, 'rlmax')).toBe('2');
    let done = 0;
    const worker = new Worker<{ n: number }>(name, async () => void done++, { ...options(3), concurrency: 10 });
    await waitFor('18 done', () => done === 18, 20_000);
    const starts = (await queue.getJobs('completed', 0, 17)).map((job) => job.processedOn!).sort((a, b) => a - b);
    expect(starts).toHaveLength(18);
    // In any window of 500 ms (Redis' clock: one server here), at most 6 starts.
    for (const from of starts) expect(starts.filter((at) => at >= from && at < from + 500).length).toBeLessThanOrEqual(6);
    expect(starts[17]! - starts[0]!).toBeGreaterThanOrEqual(1000);
    expect((await queue.getRateWindow()).limit).toEqual({ max: 6, duration: 500 });
    await queue.removeRateLimit();
    expect(await queue.getRateLimit()).toBeNull();
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('retryJobs, clean and group limits across partitions', async () => {
    const name = uniqueQueue('parts-retry');
    const queue = new Queue<{ n: number }>(name, options(3));
    let fail = true;
    let done = 0;
    const worker = new Worker<{ n: number }>(
      name,
      async () => {
        if (fail) throw new Error('nope');
        done++;
      },
      { ...options(3), concurrency: 4 },
    );
    await queue.addBulk(Array.from({ length: 30 }, (_, n) => ({ name: 'x', data: { n }, opts: { attempts: 1 } })));
    await waitFor('30 failed', async () => (await queue.getCounts()).failed === 30);
    fail = false;
    expect(await queue.retryJobs('failed')).toBe(30);
    await waitFor('30 done', () => done === 30);
    expect(await queue.clean('completed', 0)).toBe(30);
    await queue.setGroupLimit({ concurrency: 1 });
    await queue.setGroupLimit({ concurrency: 2 }, 'tenant-a');
    const limits = await queue.getGroupLimits();
    expect(limits.get('')).toEqual({ concurrency: 1 });
    expect(limits.get('tenant-a')).toEqual({ concurrency: 2 });
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('cancels a job on whichever partition holds it; history adds up; flows and dedupe are refused', async () => {
    const name = uniqueQueue('parts-control');
    const queue = new Queue<{ n: number }>(name, options(3));
    const jobs = await queue.addBulk(Array.from({ length: 6 }, (_, n) => ({ name: 'x', data: { n }, opts: { delay: 60_000 } })));
    const grouped = await queue.add('x', { n: 9 }, { jobId: 'order-9', group: 'tenant-4', delay: 60_000 });
    for (const job of [...jobs, grouped]) await queue.cancel(job.id, 'not needed');
    expect(await queue.getCounts()).toMatchObject({ delayed: 0, failed: 7 });
    expect((await queue.getJob('order-9'))?.failedReason).toMatch(/cancelled/);
    const minutes = await queue.getMetricsHistory({ minutes: 5 });
    expect(minutes).toHaveLength(5);
    expect(minutes.reduce((sum, minute) => sum + minute.failed, 0)).toBe(7);
    await expect(queue.add('x', { n: 1 }, { dedupe: { key: 'k' } })).rejects.toBeInstanceOf(PartitionedQueueError);
    await expect(queue.add('x', { n: 1 }, { dependsOn: [jobs[0]!.id] })).rejects.toBeInstanceOf(PartitionedQueueError);
    await expect(queue.addFlow({ jobs: [{ key: 'a', name: 'x', data: { n: 1 } }] })).rejects.toBeInstanceOf(PartitionedQueueError);
    await queue.obliterate();
    await queue.close();
  });

  it('schedules live on partition 0 and fire once; a Scheduler reads the recorded count', async () => {
    const name = uniqueQueue('parts-sched');
    const queue = new Queue(name, options(3));
    await queue.upsertSchedule('tick', { every: 100, limit: 3 }, { name: 'tick', data: {} });
    expect((await queue.getSchedules()).map((s) => s.id)).toEqual(['tick']);
    const scheduler = new Scheduler(name, { connection: redis.connection, redisConfig: 'off' });
    await waitFor('3 ticks', async () => (await queue.getCounts()).waiting === 3, 10_000);
    const [job] = await queue.getJobs('waiting', 0, 0);
    expect(job?.id).toMatch(/^tick:/);
    expect((await queue.getJob(job!.id))?.name).toBe('tick');
    await scheduler.close();
    await queue.obliterate();
    await queue.close();
  });
});

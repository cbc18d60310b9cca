import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('processing', () => {
  it('adds 10,000 jobs in bulk and runs each exactly once, counts exact', async () => {
    const name = uniqueQueue('bulk');
    const queue = new Queue<{ i: number }, number>(name, { connection: redis.connection });
    const jobs = await queue.addBulk(Array.from({ length: 10_000 }, (_, i) => ({ name: 'n', data: { i } })));
    expect(new Set(jobs.map((j) => j.id)).size).toBe(10_000);
    expect(await queue.getCounts()).toEqual({ waiting: 10_000, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });

    const runs = new Map<number, number>();
    const worker = new Worker<{ i: number }, number>(
      name,
      async (job) => {
        runs.set(job.data.i, (runs.get(job.data.i) ?? 0) + 1);
        return job.data.i;
      },
      { connection: redis.connection, concurrency: 64 },
    );
    let completed = 0;
    worker.on('completed', () => completed++);
    await waitFor('10,000 completions', () => completed === 10_000, 60_000);
    expect(runs.size).toBe(10_000);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    // Default retention keeps the newest 1,000 completed jobs.
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1000, failed: 0, paused: 0, limited: 0, blocked: 0 });
    await worker.close();
    await queue.close();
  }, 90_000);

  it('runs strictly by priority level, FIFO within a level', async () => {
    const name = uniqueQueue('prio');
    const queue = new Queue<{ tag: string }>(name, { connection: redis.connection, priorityLevels: 4 });
    await queue.pause();
    const plan: [string, number | undefined][] = [['bulk-1', 3], ['normal-1', undefined], ['urgent-1', 0], ['bulk-2', 3], ['high-1', 1], ['urgent-2', 0], ['normal-2', undefined]];
    for (const [tag, priority] of plan) await queue.add(tag, { tag }, priority === undefined ? {} : { priority });
    const order: string[] = [];
    const worker = new Worker<{ tag: string }>(name, async (job) => void order.push(job.data.tag), { connection: redis.connection, priorityLevels: 4 });
    await queue.resume();
    await waitFor('all jobs', () => order.length === plan.length);
    // Default level with 4 levels is floor(3 / 2) = 1, the same as high-1.
    expect(order).toEqual(['urgent-1', 'urgent-2', 'normal-1', 'high-1', 'normal-2', 'bulk-1', 'bulk-2']);
    await worker.close();
    await queue.close();
  });

  it('drains jobs spread over the levels level by level at concurrency 16, each once, FIFO within a level, counts exact', async () => {
    const name = uniqueQueue('prio-batches');
    const queue = new Queue<{ i: number }>(name, { connection: redis.connection });
    const total = 3000;
    // Job i on level i mod 3, as the comparison bench's priority drain adds them: the claims' batches of 16
    // and the settles cross from one level to the next.
    await queue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'n', data: { i }, opts: { priority: i % 3 } })));
    const started: number[] = [];
    const worker = new Worker<{ i: number }>(name, async (job) => void started.push(job.data.i), { connection: redis.connection, concurrency: 16 });
    let completed = 0;
    worker.on('completed', () => completed++);
    await waitFor('every job completed', () => completed === total, 60_000);
    const expected = [0, 1, 2].flatMap((level) => Array.from({ length: total / 3 }, (_, k) => 3 * k + level));
    expect(started).toEqual(expected);
    // Default retention keeps the newest 1,000 completed jobs.
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1000, failed: 0, paused: 0, limited: 0, blocked: 0 });
    // What the trims left in each level's stream is settled, and counted as such.
    const client = new Redis(redis.url);
    for (const level of [0, 1, 2]) {
      const acked = Number((await client.hget(`sluice:{${name}}:meta`, `acked${level}`)) ?? '0');
      expect(await client.xlen(`sluice:{${name}}:wait:${level}`)).toBe(acked);
    }
    await client.quit();
    await worker.close();
    await queue.close();
  });

  it('never runs a delayed job before its due time (Redis clock), and wakes an idle worker for it', async () => {
    const name = uniqueQueue('delay');
    const queue = new Queue<{ delay: number }>(name, { connection: redis.connection });
    const started = new Map<string, number>();
    const worker = new Worker<{ delay: number }>(name, async (job) => void started.set(job.id, job.processedOn ?? 0), {
      connection: redis.connection,
      concurrency: 10,
      // Longer than the test: only the wake-up through ctl can get these jobs run in time.
      blockTimeout: 60_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const delays = [400, 50, 250, 0, 150, 600];
    const jobs = await Promise.all(delays.map((delay) => queue.add('d', { delay }, { delay })));
    const at = await queue.add('runAt', { delay: 300 }, { runAt: new Date(Date.now() + 300) });
    await waitFor('all delayed jobs', () => started.size === delays.length + 1, 15_000);
    for (const job of jobs) {
      const stored = await queue.getJob(job.id);
      expect(stored?.processedOn).toBeGreaterThanOrEqual((stored?.timestamp ?? 0) + job.data.delay);
    }
    expect(started.get(at.id)).toBeGreaterThanOrEqual(at.timestamp);
    await worker.close();
    await queue.close();
  });

  it("counts a delay from the add() call: a bulk's encoding time is not added to it, and nothing is due early", async () => {
    const name = uniqueQueue('delay-from-call');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.getCounts();
    const client = new Redis(redis.url);
    const [seconds, micros] = await client.time();
    const calledAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // Encoding 20,001 jobs takes far longer than 1 ms, so the first job's delay has run out by the time
    // Redis stores it: it is waiting at once, not delayed by the encoding time.
    const jobs = await queue.addBulk([
      { name: 'soon', data: {}, opts: { delay: 1 } },
      ...Array.from({ length: 20_000 }, () => ({ name: 'bulk', data: { pad: 'x'.repeat(50) } })),
      { name: 'later', data: {}, opts: { delay: 60_000 } },
    ]);
    const soon = await queue.getJob(jobs[0]?.id ?? '');
    expect(soon?.state).toBe('waiting');
    expect(jobs[0]?.state).toBe('waiting');
    // The timestamp is the call, on Redis' clock: never before it, and the delay counts from there.
    expect(soon?.timestamp).toBeGreaterThanOrEqual(calledAt);
    const later = await queue.getJob(jobs[jobs.length - 1]?.id ?? '');
    expect(later?.state).toBe('delayed');
    // Due 60 s after the call to the µs, rounded up; the timestamp is the call's ms, floored.
    expect(later?.dueAt).toBeGreaterThanOrEqual((later?.timestamp ?? 0) + 60_000);
    expect(later?.dueAt).toBeLessThanOrEqual((later?.timestamp ?? 0) + 60_001);
    expect(later?.dueAt).toBeGreaterThanOrEqual(calledAt + 60_000);
    await client.quit();
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);
});

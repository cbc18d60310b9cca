import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, PayloadTooLargeError, Queue, ValidationError } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { commandCalls } from '../harness/commandstats.js';

/**
 * Adds made while an add script call is in flight share the next call (src/adder.ts). These tests check
 * that sharing changes nothing a caller can see: each gets its own job or its own error, delays count from
 * each call, and jobs are written in the order they were added.
 */
const redis = useRedis();
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
});

/** Add script calls Redis ran so far: each runs exactly one INCRBY (lua/add.lua), and nothing else here does. */
async function addCalls(): Promise<number> {
  return (await commandCalls(admin)).get('incrby') ?? 0;
}

/** Blocks the event loop: calls made before and after it are `ms` apart in one synchronous run. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/** The `n` of each job on level 1's stream, in stream order. */
async function streamOrder(name: string): Promise<number[]> {
  const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
  const jobs = await queue.getJobs('waiting', 0, 100_000);
  await queue.close();
  return jobs.map((job) => job.data.n);
}

describe('adds in flight share script calls', () => {
  it('gives 2,000 concurrent adds distinct ids, each job written once with its data, in far fewer calls', async () => {
    const name = uniqueQueue('shared');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.getCounts();
    const before = await addCalls();
    // 100 lanes, each adding as soon as its last add returned: an HTTP server under load.
    const added: { id: string; n: number }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < 2000) {
          const n = next++;
          const job = await queue.add('email', { n });
          expect(job.data).toEqual({ n });
          expect(job.state).toBe('waiting');
          added.push({ id: job.id, n });
        }
      }),
    );
    const calls = (await addCalls()) - before;
    expect(new Set(added.map((a) => a.id)).size).toBe(2000);
    expect(await queue.getCounts()).toMatchObject({ waiting: 2000, delayed: 0 });
    const stored = await queue.getJobs('waiting', 0, 2999);
    expect(stored).toHaveLength(2000);
    const byId = new Map(stored.map((job) => [job.id, job.data.n]));
    for (const { id, n } of added) expect(byId.get(id)).toBe(n);
    // One call per add would be 2,000; shared, a few dozen.
    expect(calls).toBeLessThan(200);
    await queue.close();
  });

  it('fails a bad add alone: the others of its call are written, and a duplicate jobId gets the existing job', async () => {
    const queue = new Queue<{ v: number | string }>(uniqueQueue('shared-bad'), { connection: redis.connection, maxPayloadBytes: 1000 });
    await queue.add('x', { v: 0 }, { jobId: 'taken' });
    const before = await addCalls();
    // One synchronous run: every valid add of it shares one call.
    const results = await Promise.allSettled([
      queue.add('x', { v: 1 }),
      queue.add('x', { v: 2 }, { priority: 99 }),
      queue.add('x', { v: 3 }, { jobId: 'taken' }),
      queue.add('x', { v: 'y'.repeat(2000) }),
      queue.add('x', { v: 5 }, { jobId: 'fresh' }),
      queue.add('x', { v: 6 }, { jobId: 'fresh' }),
      queue.add('', { v: 7 }),
      queue.add('x', { v: 8 }, { delay: -1 }),
      queue.add('x', { v: 9 }),
    ]);
    expect(await addCalls()).toBe(before + 1);
    const [one, badPriority, taken, tooLarge, fresh, freshAgain, noName, badDelay, nine] = results;
    expect(badPriority?.status === 'rejected' && badPriority.reason).toBeInstanceOf(ValidationError);
    expect(tooLarge?.status === 'rejected' && tooLarge.reason).toBeInstanceOf(PayloadTooLargeError);
    expect(noName?.status === 'rejected' && noName.reason).toBeInstanceOf(ValidationError);
    expect(badDelay?.status === 'rejected' && badDelay.reason).toBeInstanceOf(ValidationError);
    const value = (r: PromiseSettledResult<{ id: string; data: { v: number | string } }> | undefined): unknown =>
      r?.status === 'fulfilled' ? { id: r.value.id, v: r.value.data.v } : (r?.reason as unknown);
    expect(value(taken)).toEqual({ id: 'taken', v: 0 });
    expect(value(fresh)).toEqual({ id: 'fresh', v: 5 });
    // The second add of 'fresh' in the same call finds the first one's job.
    expect(value(freshAgain)).toEqual({ id: 'fresh', v: 5 });
    expect((value(one) as { v: number }).v).toBe(1);
    expect((value(nine) as { v: number }).v).toBe(9);
    expect(await queue.getCounts()).toMatchObject({ waiting: 4 });
    expect((await queue.getJob('fresh'))?.data).toEqual({ v: 5 });
    await queue.close();
  });

  it('counts a delay from each add() call, not from the shared call: never early, not late by the wait', async () => {
    const name = uniqueQueue('shared-delay');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.getCounts();
    const before = await addCalls();
    // Writes wait at Redis for 400 ms: the first add stays in flight while the others gather behind it.
    await admin.client('PAUSE', 400, 'WRITE');
    const first = queue.add('d', { n: 0 });
    await sleep(100);
    const earlyAt = Date.now();
    const early = queue.add('d', { n: 1 }, { delay: 1000 });
    // Due while it waits for the call in flight: waiting at once, as it would have been alone.
    const lapsed = queue.add('d', { n: 2 }, { delay: 50 });
    await sleep(150);
    const lateAt = Date.now();
    const late = queue.add('d', { n: 3 }, { delay: 1000 });
    // In the same call as `late` but called 30 ms after it.
    busy(30);
    const laterAt = Date.now();
    const later = queue.add('d', { n: 4 }, { delay: 1000 });
    const jobs = await Promise.all([first, early, lapsed, late, later]);
    // The first call, then one for the four adds gathered behind it.
    expect((await addCalls()) - before).toBe(2);
    expect(jobs.map((job) => job.state)).toEqual(['waiting', 'delayed', 'waiting', 'delayed', 'delayed']);
    const dueAt = async (id: string): Promise<number> => (await queue.getJob(id))?.dueAt ?? Number.NaN;
    for (const [job, at] of [[jobs[1], earlyAt], [jobs[3], lateAt], [jobs[4], laterAt]] as const) {
      const due = await dueAt(job?.id ?? '');
      expect(due).toBeGreaterThanOrEqual(at + 1000);
      // Not made later by the ~300 ms it waited for the call in flight, nor by the 30 ms between the last two.
      expect(due).toBeLessThan(at + 1000 + 25);
    }
    expect((await queue.getJob(jobs[2]?.id ?? ''))?.state).toBe('waiting');
    await queue.close();
  });

  it('writes adds in the order they were made: one after another, in a burst, and across calls in flight', async () => {
    const name = uniqueQueue('shared-order');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    let n = 0;
    for (let i = 0; i < 20; i++) await queue.add('o', { n: n++ });
    // A burst in one synchronous run, then more while it is in flight, turn after turn, with a bulk among them.
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) pending.push(queue.add('o', { n: n++ }));
    for (let turn = 0; turn < 20; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 15; i++) pending.push(queue.add('o', { n: n++ }));
      if (turn === 10) pending.push(queue.addBulk(Array.from({ length: 250 }, () => ({ name: 'o', data: { n: n++ } }))));
    }
    await Promise.all(pending);
    expect(await streamOrder(name)).toEqual(Array.from({ length: n }, (_, i) => i));
    await queue.close();
  });

  it('sends the adds it holds before close() closes the connection; adds after close() are refused', async () => {
    const queue = new Queue<{ n: number }>(uniqueQueue('shared-close'), { connection: redis.connection });
    await queue.add('c', { n: 0 }, { jobId: 'there' });
    await admin.client('PAUSE', 200, 'WRITE');
    const inFlight = queue.add('c', { n: 1 });
    await sleep(50);
    const gathered = queue.add('c', { n: 2 });
    // A duplicate reads the existing job after its call: close() waits for that read too.
    const duplicate = queue.add('c', { n: 4 }, { jobId: 'there' });
    const closed = queue.close();
    await expect(queue.add('c', { n: 3 })).rejects.toBeInstanceOf(ClosedError);
    const [a, b, c] = await Promise.all([inFlight, gathered, duplicate]);
    expect(c.data).toEqual({ n: 0 });
    await closed;
    const reader = new Queue<{ n: number }>(queue.name, { connection: redis.connection });
    expect((await reader.getJob(a.id))?.data).toEqual({ n: 1 });
    expect((await reader.getJob(b.id))?.data).toEqual({ n: 2 });
    await reader.close();
  });
});

import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';
import { callsSoFar, SCRIPT_CALLS } from '../harness/commandstats.js';

// The handoff (lua/includes/handoff.lua, src/worker/handoff.ts): an idle Worker registers its free slots,
// and an add claims for it in the add's own call; the worker's blocking read returns the job. These tests
// run real Workers against a real Redis, and aim at the races the issue names: a pause, a limit and a group
// job arriving while workers block, and a worker's own pause and close while it waits.

const redis = useRedis();
const open: { close(): Promise<void> }[] = [];
let client: Redis;

afterEach(async () => {
  for (const closable of open.splice(0).reverse()) await closable.close();
  await client?.quit();
});

function setUp(label: string): { name: string; queue: Queue; waiters: () => Promise<string[]> } {
  const name = uniqueQueue(label);
  client = new Redis(redis.url);
  const queue = new Queue(name, { connection: redis.connection });
  open.push(queue);
  const keys = queueKeys(name, 'sluice', 3);
  return { name, queue, waiters: () => client.zrange(keys.waiters, '0', '-1') };
}

function worker(name: string, handler: (job: Job) => Promise<unknown>, options: { concurrency?: number } = {}): Worker {
  // Heartbeats and sweeps far apart: the script calls counted below are the add's and the worker's claims.
  const made = new Worker(name, handler, { connection: redis.connection, stalledTimeout: 120_000, ...options });
  open.push(made);
  return made;
}

describe('the handoff', () => {
  it('starts a job on an idle worker with no claim call of its own: the add hands it over', async () => {
    const { name, queue, waiters } = setUp('handoff-push');
    const calls: number[] = [];
    const started: string[] = [];
    let before = 0;
    worker(name, async (job) => {
      calls.push((await callsSoFar(client, SCRIPT_CALLS)) - before);
      started.push(job.id);
    });
    await waitFor('the worker to register', async () => (await waiters()).length === 1);
    // The queue's first add checks its settings (script calls of their own): made before counting.
    await queue.add('warm-up', {});
    await waitFor('the warm-up job', () => started.length === 1);
    started.length = 0;
    calls.length = 0;
    await waitFor('the worker to register again', async () => (await waiters()).length === 1);
    for (let i = 0; i < 3; i++) {
      before = await callsSoFar(client, SCRIPT_CALLS);
      const job = await queue.add('push', { i });
      await waitFor('the job to start', () => started.length === i + 1);
      expect(started[i]).toBe(job.id);
      // Script calls from the add to the handler's start: the add alone (a claim would make it 2).
      expect(calls[i]).toBe(1);
      // Done and settled, the worker finds nothing and registers again.
      await waitFor('the worker to register again', async () => (await waiters()).length === 1);
    }
    expect(await queue.getCounts()).toMatchObject({ completed: 4, active: 0, waiting: 0 });
  });

  it('fills every free slot of an idle worker from separate adds', async () => {
    const { name, queue, waiters } = setUp('handoff-slots');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = new Set<string>();
    worker(name, async (job) => {
      running.add(job.id);
      await gate;
    }, { concurrency: 4 });
    try {
      await waitFor('the worker to register 4 slots', async () => (await waiters()).length === 4);
      for (let i = 0; i < 4; i++) await queue.add('slot', { i });
      await waitFor('4 jobs running at once', () => running.size === 4);
      await queue.add('fifth', {});
      await sleep(200);
      expect(running.size).toBe(4);
      expect(await queue.getCounts()).toMatchObject({ active: 4, waiting: 1 });
    } finally {
      release();
    }
    await waitFor('all done', async () => (await queue.getCounts()).completed === 5);
  });

  it('hands nothing once the queue is paused while workers block, and runs the job after resume', async () => {
    const { name, queue, waiters } = setUp('handoff-pause');
    const started: string[] = [];
    worker(name, async (job) => void started.push(job.id));
    worker(name, async (job) => void started.push(job.id));
    await waitFor('both workers to register', async () => (await waiters()).length === 2);
    await queue.pause();
    await queue.add('while paused', {});
    await sleep(300);
    expect(started).toEqual([]);
    expect(await queue.getCounts()).toMatchObject({ paused: 1, active: 0 });
    await queue.resume();
    await waitFor('the job after resume', () => started.length === 1);
  });

  it('keeps a rate limit set while workers block: one start per window, whoever waits', async () => {
    const { name, queue, waiters } = setUp('handoff-rate');
    const started: string[] = [];
    worker(name, async (job) => void started.push(job.id), { concurrency: 2 });
    worker(name, async (job) => void started.push(job.id), { concurrency: 2 });
    await waitFor('the workers to register', async () => (await waiters()).length === 4);
    await queue.setRateLimit({ max: 1, duration: 60_000 });
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }, { name: 'c', data: {} }]);
    await queue.add('d', {});
    await sleep(400);
    expect(started).toHaveLength(1);
    expect(await queue.getCounts()).toMatchObject({ waiting: 3, completed: 1 });
  });

  it('keeps a group limit for group jobs that arrive while workers block', async () => {
    const { name, queue, waiters } = setUp('handoff-group');
    let running = 0;
    let most = 0;
    const done: string[] = [];
    const handler = async (job: Job): Promise<void> => {
      running++;
      most = Math.max(most, running);
      await sleep(30);
      running--;
      done.push(job.id);
    };
    worker(name, handler, { concurrency: 3 });
    worker(name, handler, { concurrency: 3 });
    await waitFor('the workers to register', async () => (await waiters()).length === 6);
    await queue.setGroupLimit({ concurrency: 1 }, 'tenant-1');
    for (let i = 0; i < 5; i++) await queue.add('g', { i }, { group: 'tenant-1' });
    await waitFor('the group to drain', () => done.length === 5);
    expect(most).toBe(1);
  });

  it("ends its wait on the worker's own pause: nothing is handed to it after pause() resolves", async () => {
    const { name, queue, waiters } = setUp('handoff-worker-pause');
    const started: string[] = [];
    const paused = worker(name, async (job) => void started.push(job.id), { concurrency: 2 });
    await waitFor('the worker to register', async () => (await waiters()).length === 2);
    await paused.pause();
    expect(await waiters()).toEqual([]);
    await queue.add('after pause', {});
    await sleep(300);
    expect(started).toEqual([]);
    expect(await queue.getCounts()).toMatchObject({ waiting: 1, active: 0 });
    paused.resume();
    await waitFor('the job after resume', () => started.length === 1);
  });

  it('ends its wait on close(): the registration goes, and later adds go to the workers left', async () => {
    const { name, queue, waiters } = setUp('handoff-close');
    const byFirst: string[] = [];
    const first = worker(name, async (job) => void byFirst.push(job.id));
    await waitFor('the first worker to register', async () => (await waiters()).length === 1);
    const startedAt = Date.now();
    await first.close();
    // At once: the blocking read is dropped, not waited out (blockTimeout is 5 s).
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(await waiters()).toEqual([]);
    await queue.add('after close', {});
    await sleep(100);
    expect(byFirst).toEqual([]);
    expect(await queue.getCounts()).toMatchObject({ waiting: 1, active: 0 });
    const bySecond: string[] = [];
    worker(name, async (job) => void bySecond.push(job.id));
    await waitFor('the second worker to take it', () => bySecond.length === 1);
  });
});

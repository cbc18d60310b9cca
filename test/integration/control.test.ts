import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ClosedError, JobActiveError, JobFailedError, JobNotFoundError, LeaseLostError, Queue, QueueEvents, TimeoutError, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('pause and resume', () => {
  it('stops workers from taking jobs while paused, counting them as paused, and resumes at once', async () => {
    const name = uniqueQueue('pause');
    const queue = new Queue(name, { connection: redis.connection });
    const ran: string[] = [];
    // blockTimeout far beyond the test: only the resume signal can wake the worker in time.
    const worker = new Worker(name, async (job) => void ran.push(job.id), { connection: redis.connection, blockTimeout: 60_000 });
    await queue.pause();
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    await sleep(300);
    expect(ran).toEqual([]);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: 2, limited: 0, blocked: 0 });
    await queue.resume();
    await waitFor('both jobs', () => ran.length === 2);
    await waitFor('counts', async () => (await queue.getCounts()).completed === 2);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 2, failed: 0, paused: 0, limited: 0, blocked: 0 });
    await worker.close();
    await queue.close();
  });
});

describe('delayed jobs in a paused queue', () => {
  it('become due while paused: counted and listed as paused waiting jobs, not run, and run on resume', async () => {
    const name = uniqueQueue('paused-due');
    const queue = new Queue(name, { connection: redis.connection });
    const ran: string[] = [];
    // blockTimeout far beyond the test: only the worker's own wake-up at the due time can promote the job.
    const worker = new Worker(name, async (job) => void ran.push(job.id), { connection: redis.connection, blockTimeout: 60_000 });
    await queue.pause();
    const job = await queue.add('later', {}, { delay: 200 });
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, paused: 0, delayed: 1 });
    await waitFor('the due job counted as paused', async () => (await queue.getCounts()).paused === 1);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: 1, limited: 0, blocked: 0 });
    expect((await queue.getJobs('waiting')).map((j) => j.id)).toEqual([job.id]);
    expect(await queue.getJobs('delayed')).toEqual([]);
    expect((await queue.getJob(job.id))?.state).toBe('waiting');
    expect(ran).toEqual([]);
    await queue.resume();
    await waitFor('the job', () => ran.length === 1);
    await worker.close();
    await queue.close();
  });
});

describe('graceful close', () => {
  it('stops claiming, lets running jobs finish and settle, then resolves', async () => {
    const name = uniqueQueue('close');
    const queue = new Queue<{ i: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'slow', data: { i } })));
    const started: number[] = [];
    const finished: number[] = [];
    const worker = new Worker<{ i: number }>(
      name,
      async (job) => {
        started.push(job.data.i);
        await sleep(300);
        finished.push(job.data.i);
      },
      { connection: redis.connection, concurrency: 3 },
    );
    await waitFor('three running', () => started.length === 3);
    await worker.close();
    expect(finished.sort()).toEqual(started.sort());
    expect(started).toHaveLength(3);
    expect(await queue.getCounts()).toMatchObject({ active: 0, completed: 3, waiting: 3 });
    await queue.close();
  });
});

describe('waitUntilFinished', () => {
  it('resolves with the result, rejects with JobFailedError, or with TimeoutError', async () => {
    const name = uniqueQueue('wait');
    const queue = new Queue<{ ok: boolean }, string>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    const worker = new Worker<{ ok: boolean }, string>(
      name,
      async (job) => {
        if (!job.data.ok) throw new Error('declined');
        return 'approved';
      },
      { connection: redis.connection },
    );
    const good = await queue.add('pay', { ok: true });
    const bad = await queue.add('pay', { ok: false }, { attempts: 1 });
    const late = await queue.add('pay', { ok: true }, { delay: 60_000 });
    expect(await good.waitUntilFinished(events, 10_000)).toBe('approved');
    await expect(bad.waitUntilFinished(events, 10_000)).rejects.toBeInstanceOf(JobFailedError);
    await expect(late.waitUntilFinished(events, 100)).rejects.toBeInstanceOf(TimeoutError);
    // Already finished before anyone waited: answered from the job itself.
    expect(await good.waitUntilFinished(events, 1000)).toBe('approved');
    await worker.close();
    await events.close();
    await queue.close();
  });
});

describe('inspection and administration', () => {
  it('lists jobs per state, removes, retries in bulk and obliterates', async () => {
    const name = uniqueQueue('admin');
    const queue = new Queue<{ i: number }>(name, { connection: redis.connection });
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker<{ i: number }>(
      name,
      async (job) => {
        if (job.data.i % 2 === 1) throw new Error(`odd ${job.data.i}`);
        if (job.data.i === 4) await held;
      },
      { connection: redis.connection, concurrency: 10 },
    );
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'n', data: { i }, opts: { attempts: 1 } })));
    const delayed = await queue.add('later', { i: 100 }, { delay: 60_000 });
    await waitFor('settled', async () => {
      const counts = await queue.getCounts();
      return counts.failed === 3 && counts.completed === 2 && counts.active === 1;
    });
    expect((await queue.getJobs('failed')).map((j) => j.data.i).sort()).toEqual([1, 3, 5]);
    expect((await queue.getJobs('completed')).map((j) => j.data.i).sort()).toEqual([0, 2]);
    expect((await queue.getJobs('active')).map((j) => j.data.i)).toEqual([4]);
    expect((await queue.getJobs('delayed')).map((j) => j.id)).toEqual([delayed.id]);

    const running = (await queue.getJobs('active'))[0]!;
    await expect(running.remove()).rejects.toBeInstanceOf(JobActiveError);
    await delayed.remove();
    await expect(delayed.remove()).rejects.toBeInstanceOf(JobNotFoundError);
    expect(await queue.getJob(delayed.id)).toBeUndefined();

    await queue.pause();
    expect(await queue.retryJobs('failed')).toBe(3);
    expect(await queue.getCounts()).toMatchObject({ failed: 0, paused: 3, delayed: 0 });

    await expect(queue.obliterate()).rejects.toBeInstanceOf(JobActiveError);
    await queue.obliterate({ force: true });
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });
    await queue.close();
    await expect(queue.add('x', { i: 0 })).rejects.toBeInstanceOf(ClosedError);
    // The job that was running when the queue was obliterated finishes; its result is refused, not counted.
    release();
    await waitFor('the refused settle', () => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(LeaseLostError);
    expect(errors[0]?.message).toContain('the job was removed while it ran');
    await worker.close();
  });
});

describe('reads on a queue that does not exist', () => {
  it('create nothing: after obliterate every read finds the queue empty and leaves no key; an add still works', async () => {
    const name = uniqueQueue('gone');
    const client = new Redis(redis.url);
    const keys = async (): Promise<string[]> => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', `sluice:{${name}}:*`, 'COUNT', 1000);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0');
      return found;
    };
    const queue = new Queue(name, { connection: redis.connection });
    await queue.add('a', {});
    await queue.upsertSchedule('tick', { every: 60_000 }, { name: 'tick', data: {} });
    expect(await keys()).not.toEqual([]);
    await queue.obliterate();
    expect(await keys()).toEqual([]);

    // A second Queue that never wrote anything reads the same way.
    const reader = new Queue(name, { connection: redis.connection });
    for (const q of [queue, reader]) {
      expect(await q.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });
      expect(await q.getMetrics()).toMatchObject({ waiting: 0, active: 0, delayed: 0, isPaused: false, waitingByLevel: [0, 0, 0] });
      for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed'] as const) expect(await q.getJobs(state)).toEqual([]);
      expect(await q.getJob('1')).toBeUndefined();
      expect(await q.getSchedules()).toEqual([]);
      expect(await q.removeSchedule('tick')).toBe(false);
      expect(await q.getRateLimit()).toBeNull();
      expect(await q.getGroupLimits()).toEqual(new Map());
      expect(await q.getGroup('g')).toEqual({ waiting: 0, active: 0, state: 'idle' });
    }
    expect(await keys()).toEqual([]);

    // The reads did not leave the Queue believing the queue exists: an add creates it again and runs.
    const added = await queue.add('b', {});
    expect(await reader.getCounts()).toMatchObject({ waiting: 1 });
    const worker = new Worker(name, async () => 'ok', { connection: redis.connection });
    await waitFor('the job', async () => (await queue.getJob(added.id))?.state === 'completed');
    await worker.close();
    await reader.close();
    await queue.close();
    await client.quit();
  });
});

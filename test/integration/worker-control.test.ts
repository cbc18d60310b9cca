// One worker under control: its own pause and resume, its concurrency changed while it runs, a forced
// close against a graceful one; and who runs what: queue.getWorkers() and job.processedBy. The same across
// processes, with workers killed: test/fault/worker-context.test.ts.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ClosedError, Queue, ValidationError, Worker, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

/** Jobs whose handlers wait until the test lets them go. */
function gatedJobs(): { handler: (job: Job) => Promise<string>; started: string[]; release: (id?: string) => void; running: () => number } {
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
    release: (id) => {
      for (const [key, go] of [...waiting]) if (id === undefined || key === id) go();
    },
  };
}

describe('worker.pause() and resume()', () => {
  it('stops this worker claiming while its running job goes on and settles; resume claims again', async () => {
    const name = uniqueQueue('worker-pause');
    const queue = new Queue(name, { connection: redis.connection });
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { connection: redis.connection, concurrency: 2, blockTimeout: 60_000 });
    const first = await queue.add('first', {});
    await waitFor('the first job', () => jobs.started.length === 1);
    await worker.pause();
    expect(worker.isPaused).toBe(true);
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    await sleep(300);
    // A free slot and waiting jobs, and still nothing claimed.
    expect(jobs.started).toEqual([first.id]);
    jobs.release(first.id);
    await waitFor('the running job to complete while paused', async () => (await queue.getCounts()).completed === 1);
    expect(await queue.getCounts()).toMatchObject({ waiting: 2, active: 0 });
    worker.resume();
    await waitFor('both jobs to start after resume', () => jobs.started.length === 3);
    jobs.release();
    await waitFor('all done', async () => (await queue.getCounts()).completed === 3);
    await worker.close();
    await queue.close();
  });

  it('with waitForActive, resolves only once the running jobs settled; other workers of the queue go on', async () => {
    const name = uniqueQueue('worker-pause-wait');
    const queue = new Queue(name, { connection: redis.connection });
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { connection: redis.connection, concurrency: 2 });
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    await waitFor('both jobs', () => jobs.started.length === 2);
    let paused = false;
    const pausing = worker.pause({ waitForActive: true }).then(() => (paused = true));
    await sleep(200);
    expect(paused).toBe(false);
    jobs.release();
    await pausing;
    expect((await queue.getCounts()).completed).toBe(2);
    const other: string[] = [];
    const otherWorker = new Worker(name, async (job) => void other.push(job.id), { connection: redis.connection });
    const later = await queue.add('later', {});
    await waitFor('the other worker to run it', () => other.length === 1);
    expect(other).toEqual([later.id]);
    expect(jobs.started).toHaveLength(2);
    await otherWorker.close();
    await worker.close();
    await queue.close();
  });
});

describe('worker.concurrency', () => {
  it('raised while running claims for the new slots at once; lowered, lets running jobs finish and starts fewer', async () => {
    const name = uniqueQueue('concurrency');
    const queue = new Queue(name, { connection: redis.connection });
    const jobs = gatedJobs();
    const worker = new Worker(name, jobs.handler, { connection: redis.connection, concurrency: 1, blockTimeout: 60_000 });
    await queue.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: `j${i}`, data: {} })));
    await waitFor('one job', () => jobs.started.length === 1);
    await sleep(200);
    expect(jobs.running()).toBe(1);
    worker.concurrency = 4;
    expect(worker.concurrency).toBe(4);
    await waitFor('four at once', () => jobs.running() === 4, 3_000);
    worker.concurrency = 2;
    await sleep(200);
    // Lowered: the four go on, nothing new starts.
    expect(jobs.running()).toBe(4);
    expect(jobs.started).toHaveLength(4);
    jobs.release();
    await waitFor('two more', () => jobs.started.length === 6);
    await sleep(200);
    expect(jobs.running()).toBe(2);
    jobs.release();
    await waitFor('the last two', () => jobs.started.length === 8);
    jobs.release();
    await waitFor('all done', async () => (await queue.getCounts()).completed === 8);
    expect(() => {
      worker.concurrency = 0;
    }).toThrow(ValidationError);
    expect(worker.concurrency).toBe(2);
    await worker.close();
    await queue.close();
  });
});

describe('worker.close({ force })', () => {
  it('does not wait for running jobs: aborts their signal and gives them back to waiting, no attempt used', async () => {
    const name = uniqueQueue('force-close');
    const queue = new Queue(name, { connection: redis.connection });
    const aborted: unknown[] = [];
    const stuck = new Worker(
      name,
      (_job, ctx) =>
        new Promise<never>(() => {
          ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason));
        }),
      { connection: redis.connection, concurrency: 2 },
    );
    const [a, b] = await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    await waitFor('both running', async () => (await queue.getCounts()).active === 2);
    // A graceful close would wait forever for these handlers; a force given meanwhile ends the wait.
    const graceful = stuck.close();
    await sleep(100);
    await stuck.close({ force: true });
    await graceful;
    expect(aborted).toHaveLength(2);
    expect(aborted.every((reason) => reason instanceof ClosedError)).toBe(true);
    expect(await queue.getCounts()).toMatchObject({ waiting: 2, active: 0, failed: 0 });
    for (const job of [a, b]) expect(await queue.getJob(job!.id)).toMatchObject({ state: 'waiting', attemptsMade: 0, stalledCounter: 0 });
    const ran: string[] = [];
    const next = new Worker(name, async (job) => void ran.push(job.id), { connection: redis.connection });
    await waitFor('another worker to run them', () => ran.length === 2);
    await next.close();
    await queue.close();
  });
});

describe('queue.getWorkers() and job.processedBy', () => {
  it('lists the workers alive with host, pid, concurrency and running jobs, and drops a closed one at once', async () => {
    const name = uniqueQueue('get-workers');
    const admin = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    expect(await queue.getWorkers()).toEqual([]);
    const jobs = gatedJobs();
    const one = new Worker(name, jobs.handler, { connection: redis.connection, concurrency: 3, stalledTimeout: 900 });
    const two = new Worker(name, jobs.handler, { connection: redis.connection, concurrency: 5, name: 'batch', stalledTimeout: 900 });
    await waitFor('both listed', async () => (await queue.getWorkers()).length === 2);
    const listed = await queue.getWorkers();
    expect(new Set(listed.map((w) => w.id))).toEqual(new Set([one.consumer, two.consumer]));
    const byId = new Map(listed.map((w) => [w.id, w]));
    expect(byId.get(one.consumer)).toMatchObject({ host: hostname(), pid: process.pid, concurrency: 3, running: 0, paused: false, heartbeatInterval: 300 });
    expect(byId.get(two.consumer)?.concurrency).toBe(5);
    expect(two.consumer.startsWith('batch:')).toBe(true);
    expect(Math.abs(Date.now() - byId.get(one.consumer)!.lastHeartbeat.getTime())).toBeLessThan(5_000);

    // Running jobs and a pause show at the next heartbeat; the running job names its worker.
    const job = await queue.add('held', {});
    await waitFor('the job to start', () => jobs.started.length === 1);
    const runner = (await queue.getJob(job.id))?.processedBy;
    expect([one.consumer, two.consumer]).toContain(runner);
    const other = runner === one.consumer ? two : one;
    await other.pause();
    await waitFor('the heartbeats to say so', async () => {
      const now = new Map((await queue.getWorkers()).map((w) => [w.id, w]));
      return now.get(runner ?? '')?.running === 1 && now.get(other.consumer)?.paused === true;
    });
    jobs.release();
    await waitFor('completed', async () => (await queue.getCounts()).completed === 1);
    expect((await queue.getJob(job.id))?.processedBy).toBe(runner);

    await other.close();
    expect((await queue.getWorkers()).map((w) => w.id)).toEqual([runner]);
    expect(await admin.zcard(queue.store.keys.workers)).toBe(1);
    await (runner === one.consumer ? one : two).close();
    expect(await queue.getWorkers()).toEqual([]);
    expect(await admin.exists(queue.store.keys.workers, queue.store.keys.workerInfo)).toBe(0);
    await queue.close();
    await admin.quit();
  });

  it('is deleted with the queue by obliterate', async () => {
    const name = uniqueQueue('workers-obliterate');
    const admin = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    // A heartbeat far apart: none comes between the obliterate and the check.
    const worker = new Worker(name, async () => undefined, { connection: redis.connection, stalledTimeout: 600_000 });
    await waitFor('listed', async () => (await queue.getWorkers()).length === 1);
    await queue.obliterate();
    expect(await admin.exists(queue.store.keys.workers, queue.store.keys.workerInfo)).toBe(0);
    await worker.close();
    await queue.close();
    await admin.quit();
  });

  it('names the worker in the handler, on a job failed for good, and not on a waiting one', async () => {
    const name = uniqueQueue('processed-by');
    const queue = new Queue(name, { connection: redis.connection });
    const seen: (string | undefined)[] = [];
    const worker = new Worker(
      name,
      async (job) => {
        seen.push(job.processedBy);
        if (job.name === 'bad') throw new Error('no');
      },
      { connection: redis.connection },
    );
    const bad = await queue.add('bad', {}, { attempts: 1 });
    await waitFor('the failure', async () => (await queue.getCounts()).failed === 1);
    expect(seen).toEqual([worker.consumer]);
    expect((await queue.getJob(bad.id))?.processedBy).toBe(worker.consumer);
    await worker.close();
    const waiting = await queue.add('waiting', {});
    expect((await queue.getJob(waiting.id))?.processedBy).toBeUndefined();
    // Retried by a person: it waits again, and no longer names the worker of its last run.
    await (await queue.getJob(bad.id))?.retry();
    expect((await queue.getJob(bad.id))?.processedBy).toBeUndefined();
    await queue.close();
  });
});

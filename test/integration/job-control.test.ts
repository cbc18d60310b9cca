import { describe, expect, it } from 'vitest';
import {
  JobActiveError,
  JobCancelledError,
  JobFailedError,
  JobNotFoundError,
  JobStateError,
  Queue,
  QueueEvents,
  ValidationError,
  Worker,
  type Job,
} from 'sluice';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

/** A handler that holds each job until `release(id)`; `started` lists the ids it began. */
function gate(): { started: string[]; seen: unknown[]; release: (id: string) => void; handler: (job: Job) => Promise<string> } {
  const waiting = new Map<string, () => void>();
  const started: string[] = [];
  const seen: unknown[] = [];
  return {
    started,
    seen,
    release: (id) => waiting.get(id)?.(),
    handler: async (job) => {
      started.push(job.id);
      seen.push(job.data);
      await new Promise<void>((resolve) => waiting.set(job.id, resolve));
      return 'done';
    },
  };
}

describe('dedupe', () => {
  it('returns the job that holds the key while it is unfinished, saying so, and adds a new one once it finished', async () => {
    const name = uniqueQueue('dedupe-flight');
    const queue = new Queue<{ v: number }>(name, { connection: redis.connection });
    const held = gate();
    const worker = new Worker(name, held.handler, { connection: redis.connection });
    const first = await queue.add('sync', { v: 1 }, { dedupe: { key: 'user-7' } });
    expect(first.deduplicated).toBe(false);
    const waiting = await queue.add('sync', { v: 2 }, { dedupe: { key: 'user-7' } });
    expect([waiting.id, waiting.deduplicated, waiting.data]).toEqual([first.id, true, { v: 1 }]);
    await waitFor('the job running', () => held.started.length === 1);
    const running = await queue.add('sync', { v: 3 }, { dedupe: { key: 'user-7' } });
    expect([running.id, running.deduplicated, running.state]).toEqual([first.id, true, 'active']);
    held.release(first.id);
    await waitFor('completed', async () => (await queue.getCounts()).completed === 1);
    const next = await queue.add('sync', { v: 4 }, { dedupe: { key: 'user-7' } });
    expect(next.deduplicated).toBe(false);
    expect(next.id).not.toBe(first.id);
    await waitFor('the second job running', () => held.started.length === 2);
    held.release(next.id);
    await waitFor('both completed', async () => (await queue.getCounts()).completed === 2);
    expect(held.seen).toEqual([{ v: 1 }, { v: 4 }]);
    await worker.close();
    await queue.close();
  });

  it('throttles: for ttl ms after the first add, adds return the first job whatever its state', async () => {
    const name = uniqueQueue('dedupe-ttl');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker(name, async () => 'ok', { connection: redis.connection });
    const first = await queue.add('ping', {}, { dedupe: { key: 'k', ttl: 600 } });
    await waitFor('completed', async () => (await queue.getCounts()).completed === 1);
    const within = await queue.add('ping', {}, { dedupe: { key: 'k', ttl: 600 } });
    expect([within.id, within.deduplicated, within.state]).toEqual([first.id, true, 'completed']);
    await waitFor('the window over', async () => !(await queue.add('ping', {}, { dedupe: { key: 'k', ttl: 600 } })).deduplicated, 5000);
    expect(Date.now() - first.timestamp).toBeGreaterThanOrEqual(600);
    await waitFor('the second completed', async () => (await queue.getCounts()).completed === 2);
    await worker.close();
    await queue.close();
  });

  it('debounces: the job runs once, with the last data, at least delay after the last add', async () => {
    const name = uniqueQueue('dedupe-debounce');
    const queue = new Queue<{ v: number }>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const debounced: number[] = [];
    events.on('debounced', ({ dueAt }) => debounced.push(dueAt));
    const runs: { data: { v: number }; at: number }[] = [];
    const worker = new Worker<{ v: number }>(name, async (job) => void runs.push({ data: job.data, at: Date.now() }), { connection: redis.connection });
    // 1 s: an add that a loaded machine holds up must still come before the job starts.
    const opts = { dedupe: { key: 'reindex', ttl: 5000, debounce: true }, delay: 1000 };
    let lastAdd = 0;
    const ids = new Set<string>();
    for (let v = 1; v <= 5; v++) {
      lastAdd = Date.now();
      const job = await queue.add('reindex', { v }, opts);
      ids.add(job.id);
      expect([job.deduplicated, job.data, job.state]).toEqual([v > 1, { v }, 'delayed']);
      await sleep(60);
    }
    expect(ids.size).toBe(1);
    await waitFor('the run', () => runs.length === 1);
    await sleep(400);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.data).toEqual({ v: 5 });
    expect(runs[0]!.at - lastAdd).toBeGreaterThanOrEqual(1000);
    await waitFor('four debounced events', () => debounced.length === 4);
    await worker.close();
    await events.close();
    await queue.close();
  });

  it('keeps one job when two processes add 100 jobs each under one key at the same moment', async () => {
    const name = uniqueQueue('dedupe-race');
    const env = { REDIS_URL: redis.url, QUEUE: name, COUNT: '100', KEY: 'race' };
    const producers = [runFixture('add-deduped', env), runFixture('add-deduped', env)];
    await waitFor('both producers ready', () => producers.every((p) => p.lines.includes('ready')), 30_000);
    for (const producer of producers) producer.process.stdin?.end('go\n');
    expect(await Promise.all(producers.map((p) => p.exited))).toEqual([0, 0]);
    const [a, b] = producers.map((p) => JSON.parse(p.lines[1]!) as { ids: string[]; created: number });
    expect(a!.ids).toHaveLength(1);
    expect(b!.ids).toEqual(a!.ids);
    expect(a!.created + b!.created).toBe(1);
    const queue = new Queue(name, { connection: redis.connection });
    expect(await queue.getCounts()).toMatchObject({ waiting: 1, delayed: 0, active: 0 });
    await queue.close();
  }, 60_000);

  it('debounces two racing processes into one job, which runs once with the data of the add that came last', async () => {
    const name = uniqueQueue('debounce-race');
    const env = { REDIS_URL: redis.url, QUEUE: name, COUNT: '100', KEY: 'race', DEBOUNCE_MS: '1500' };
    const producers = [runFixture('add-deduped', env), runFixture('add-deduped', env)];
    await waitFor('both producers ready', () => producers.every((p) => p.lines.includes('ready')), 30_000);
    for (const producer of producers) producer.process.stdin?.end('go\n');
    expect(await Promise.all(producers.map((p) => p.exited))).toEqual([0, 0]);
    const [a, b] = producers.map((p) => JSON.parse(p.lines[1]!) as { ids: string[]; created: number });
    expect(b!.ids).toEqual(a!.ids);
    expect(a!.created + b!.created).toBe(1);
    // The last add of all, after both processes: the job must run with its data, once, 1.5 s after it.
    const queue = new Queue<{ writer: number; i: number }>(name, { connection: redis.connection });
    const lastAdd = Date.now();
    const last = await queue.add('sync', { writer: 0, i: -1 }, { dedupe: { key: 'race', ttl: 60_000, debounce: true }, delay: 1500 });
    expect([last.id, last.deduplicated]).toEqual([a!.ids[0], true]);
    const runs: { data: unknown; at: number }[] = [];
    const worker = new Worker(name, async (job) => void runs.push({ data: job.data, at: Date.now() }), { connection: redis.connection });
    await waitFor('the run', () => runs.length === 1);
    await sleep(300);
    expect(runs).toEqual([{ data: { writer: 0, i: -1 }, at: runs[0]!.at }]);
    expect(runs[0]!.at - lastAdd).toBeGreaterThanOrEqual(1500);
    expect(await queue.getCounts()).toMatchObject({ completed: 1, waiting: 0, delayed: 0 });
    await worker.close();
    await queue.close();
  }, 60_000);

  it('is refused where it cannot apply: addBulk, a schedule, queue defaults', async () => {
    const queue = new Queue(uniqueQueue('dedupe-refused'), { connection: redis.connection });
    await expect(queue.addBulk([{ name: 'a', data: {}, opts: { dedupe: { key: 'k' } } }])).rejects.toThrow('addBulk: item 0 has the dedupe option');
    await expect(queue.upsertSchedule('s', { every: 1000 }, { name: 'a', data: {}, opts: { dedupe: { key: 'k' } } as never })).rejects.toBeInstanceOf(ValidationError);
    expect(() => new Queue(uniqueQueue('x'), { connection: redis.connection, defaultJobOptions: { dedupe: { key: 'k' } } as never })).toThrow(ValidationError);
    await queue.close();
  });
});

describe('changing a job after it was added', () => {
  it('updates the data of a waiting or failed job; refuses a running and a completed one', async () => {
    const name = uniqueQueue('update-data');
    const queue = new Queue<{ v: number }>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const updated: string[] = [];
    events.on('updated', ({ jobId }) => updated.push(jobId));
    const job = await queue.add('x', { v: 1 }, { attempts: 1 });
    await job.updateData({ v: 2 });
    expect(job.data).toEqual({ v: 2 });
    const held = gate();
    const worker = new Worker<{ v: number }>(
      name,
      async (j) => {
        if (j.data.v === 2) throw new Error('bad data');
        await held.handler(j);
      },
      { connection: redis.connection },
    );
    await waitFor('failed', async () => (await queue.getJob(job.id))?.state === 'failed');
    const failed = (await queue.getJob(job.id))!;
    await failed.updateData({ v: 3 });
    await failed.retry();
    await waitFor('running with the fixed data', () => held.started.length === 1);
    expect(held.seen).toEqual([{ v: 3 }]);
    await expect(failed.updateData({ v: 4 })).rejects.toBeInstanceOf(JobActiveError);
    await expect(failed.changePriority(0)).rejects.toBeInstanceOf(JobActiveError);
    await expect(failed.changeDelay(1000)).rejects.toBeInstanceOf(JobActiveError);
    await expect(failed.promote()).rejects.toBeInstanceOf(JobStateError);
    held.release(job.id);
    await waitFor('completed', async () => (await queue.getJob(job.id))?.state === 'completed');
    const refused = await failed.updateData({ v: 5 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(JobStateError);
    expect(refused).toMatchObject({ state: 'completed', jobId: job.id });
    await waitFor('two updated events', () => updated.length === 2);
    await worker.close();
    await events.close();
    await queue.close();
  });

  it('changes the priority of waiting jobs, which then run in the new order; refuses a finished one', async () => {
    const name = uniqueQueue('priority');
    const queue = new Queue(name, { connection: redis.connection });
    const jobs = await queue.addBulk(['a', 'b', 'c'].map((n) => ({ name: n, data: {}, opts: { priority: 2 } })));
    await jobs[2]!.changePriority(0);
    await jobs[1]!.changePriority(1);
    expect(jobs[2]!.priority).toBe(0);
    await expect(jobs[0]!.changePriority(3)).rejects.toBeInstanceOf(ValidationError);
    const order: string[] = [];
    const worker = new Worker(name, async (job) => void order.push(job.name), { connection: redis.connection });
    await waitFor('all three', () => order.length === 3);
    expect(order).toEqual(['c', 'b', 'a']);
    await waitFor('completed', async () => (await queue.getCounts()).completed === 3);
    await expect(jobs[0]!.changePriority(0)).rejects.toBeInstanceOf(JobStateError);
    await worker.close();
    await queue.close();
  });

  it('delays, reschedules and promotes: each moves when the job runs, with its event', async () => {
    const name = uniqueQueue('delay');
    const queue = new Queue(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const seen: string[] = [];
    events.on('rescheduled', ({ jobId }) => seen.push(`rescheduled ${jobId}`));
    events.on('promoted', ({ jobId }) => seen.push(`promoted ${jobId}`));
    const ran: string[] = [];
    const worker = new Worker(name, async (job) => void ran.push(job.name), { connection: redis.connection });
    const soon = await queue.add('soon', {}, { delay: 60_000 });
    await soon.changeDelay(0);
    expect(soon.state).toBe('waiting');
    await waitFor('soon ran', () => ran.includes('soon'));
    await worker.close();
    await waitFor('soon completed', async () => (await queue.getJob(soon.id))?.state === 'completed');
    await expect(soon.changeDelay(10)).rejects.toMatchObject({ name: 'JobStateError', state: 'completed' });
    await expect(soon.reschedule(new Date())).rejects.toBeInstanceOf(JobStateError);
    const later = await queue.add('later', {});
    await later.changeDelay(60_000);
    expect(later.state).toBe('delayed');
    expect((await queue.getJob(later.id))?.state).toBe('delayed');
    const at = new Date(Date.now() + 200);
    await later.reschedule(at);
    expect(later.dueAt).toBeGreaterThanOrEqual(at.getTime());
    const promoted = await queue.add('promoted', {}, { delay: 60_000 });
    await promoted.promote();
    await expect(promoted.promote()).rejects.toThrow(`job '${promoted.id}' is waiting, not delayed`);
    await expect(queue.promoteJob('nope')).rejects.toBeInstanceOf(JobNotFoundError);
    const startedAt = new Map<string, number>();
    const again = new Worker(name, async (job) => void startedAt.set(job.name, Date.now()), { connection: redis.connection });
    await waitFor('both ran', () => startedAt.size === 2);
    // The promoted job ran at once, the rescheduled one not before its new time.
    expect([...startedAt.keys()]).toEqual(['promoted', 'later']);
    expect(startedAt.get('later')).toBeGreaterThanOrEqual(at.getTime());
    await waitFor('the events', () => seen.length === 4);
    expect(seen).toEqual([`rescheduled ${soon.id}`, `rescheduled ${later.id}`, `rescheduled ${later.id}`, `promoted ${promoted.id}`]);
    await again.close();
    await events.close();
    await queue.close();
  });
});

describe('cancel', () => {
  it('ends waiting and delayed jobs as failed with the reason; they never run', async () => {
    const name = uniqueQueue('cancel-waiting');
    const queue = new Queue(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const cancelled: string[] = [];
    events.on('cancelled', ({ jobId, reason }) => cancelled.push(`${jobId} ${reason}`));
    const waiting = await queue.add('w', {});
    const delayed = await queue.add('d', {}, { delay: 300 });
    const finished = waiting.waitUntilFinished(events).catch((error: unknown) => error);
    await queue.cancel(waiting.id, 'not needed');
    await delayed.cancel();
    expect([delayed.state, delayed.failedReason]).toEqual(['failed', 'cancelled']);
    expect(await finished).toEqual(new JobFailedError(waiting.id, 'cancelled: not needed'));
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, delayed: 0, failed: 2 });
    expect((await queue.getJob(waiting.id))?.failedReason).toBe('cancelled: not needed');
    const ran: string[] = [];
    const worker = new Worker(name, async (job) => void ran.push(job.id), { connection: redis.connection });
    await sleep(500);
    expect(ran).toEqual([]);
    await expect(queue.cancel(waiting.id)).rejects.toBeInstanceOf(JobStateError);
    await expect(queue.cancel('nope')).rejects.toBeInstanceOf(JobNotFoundError);
    await waitFor('the events', () => cancelled.length === 2);
    expect(cancelled).toEqual([`${waiting.id} not needed`, `${delayed.id} `]);
    await worker.close();
    await events.close();
    await queue.close();
  });

  it('aborts a running job within a second, does not retry it, and refuses its late result', async () => {
    const name = uniqueQueue('cancel-running');
    const queue = new Queue(name, { connection: redis.connection });
    const aborted = new Map<string, { at: number; reason: unknown }>();
    let calls = 0;
    const errors: Error[] = [];
    // Default lease settings: extensions every 10 s, so only the cancel watch can deliver it in time.
    const worker = new Worker(
      name,
      async (job, ctx) => {
        calls++;
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted.set(job.name, { at: Date.now(), reason: ctx.signal.reason });
        // A late result, and a late failure: both must be refused.
        if (job.name === 'throws') throw new Error('gave up');
        return 'late';
      },
      { connection: redis.connection, concurrency: 2 },
    );
    worker.on('error', (error) => errors.push(error));
    const completed: string[] = [];
    worker.on('completed', (job) => completed.push(job.id));
    const returns = await queue.add('returns', {}, { attempts: 5 });
    const throws = await queue.add('throws', {}, { attempts: 5, backoff: { type: 'fixed', delay: 10 } });
    await waitFor('both running', async () => (await queue.getCounts()).active === 2 && calls === 2);
    // Past the first watch tick, which only learns the count.
    await sleep(600);
    const cancelledAt = Date.now();
    await queue.cancel(returns.id, 'stop');
    await (await queue.getJob(throws.id))!.cancel();
    await waitFor('both aborted', () => aborted.size === 2, 3000);
    for (const [jobName, { at, reason }] of aborted) {
      expect(`${jobName} ${at - cancelledAt < 1000}`).toBe(`${jobName} true`);
      expect(reason).toBeInstanceOf(JobCancelledError);
    }
    expect((aborted.get('returns')?.reason as JobCancelledError).failedReason).toBe('cancelled: stop');
    await sleep(500);
    expect(calls).toBe(2);
    expect(completed).toEqual([]);
    expect(await queue.getCounts()).toMatchObject({ active: 0, waiting: 0, delayed: 0, completed: 0, failed: 2 });
    const stored = await queue.getJob(returns.id);
    expect([stored?.state, stored?.failedReason, stored?.attemptsMade]).toEqual(['failed', 'cancelled: stop', 1]);
    // Refused as a lost lease is, without an error: the cancel was deliberate.
    expect(errors).toEqual([]);
    await expect(queue.cancel(returns.id)).rejects.toBeInstanceOf(JobStateError);
    await worker.close();
    await queue.close();
  });
});

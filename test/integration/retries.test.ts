import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, TimeoutError, UnrecoverableError, Worker, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('retries and failure', () => {
  it('retries with backoff, then fails for good and stays failed until retried by hand', async () => {
    const name = uniqueQueue('retry');
    const queue = new Queue<{ failUntil: number }, string>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const retrying: number[] = [];
    events.on('retrying', ({ delay }) => retrying.push(delay));
    let allowSuccess = false;
    const attempts: number[] = [];
    const worker = new Worker<{ failUntil: number }, string>(
      name,
      async (job) => {
        attempts.push(job.attemptsMade);
        if (!allowSuccess) throw new Error(`attempt ${job.attemptsMade + 1} failed`);
        return 'finally';
      },
      { connection: redis.connection },
    );
    const failedEvents: string[] = [];
    worker.on('failed', (_job, error) => failedEvents.push(error.message));
    const job = await queue.add('flaky', { failUntil: 3 }, { attempts: 3, backoff: { type: 'fixed', delay: 30 } });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(`job '${job.id}' failed: attempt 3 failed`);
    expect(attempts).toEqual([0, 1, 2]);
    expect(retrying).toEqual([30, 30]);
    // QueueEvents reads Redis on its own connection: it may hear of the failure before the worker's settle returns.
    await waitFor("the worker's failed event", () => failedEvents.length === 1);
    expect(failedEvents).toEqual(['attempt 3 failed']);
    const failed = await queue.getJob(job.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.attemptsMade).toBe(3);
    expect(failed?.failedReason).toBe('attempt 3 failed');
    expect(failed?.stacktrace).toContain('Error: attempt 3 failed');
    expect(await queue.getCounts()).toMatchObject({ failed: 1, waiting: 0, delayed: 0, active: 0 });

    allowSuccess = true;
    await failed?.retry();
    expect(await job.waitUntilFinished(events, 10_000)).toBe('finally');
    expect(attempts).toEqual([0, 1, 2, 0]);
    expect(await queue.getCounts()).toMatchObject({ failed: 0, completed: 1 });
    await worker.close();
    await events.close();
    await queue.close();
  });

  it('fails at once on UnrecoverableError, keeping the remaining attempts unused', async () => {
    const name = uniqueQueue('unrec');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker(name, async () => {
      throw new UnrecoverableError('card declined');
    }, { connection: redis.connection });
    const failed: Job[] = [];
    worker.on('failed', (job) => failed.push(job));
    await queue.add('charge', {});
    await waitFor('failure', () => failed.length === 1);
    expect(failed[0]?.attemptsMade).toBe(1);
    expect((await queue.getJob(failed[0]!.id))?.failedReason).toBe('card declined');
    await worker.close();
    await queue.close();
  });

  it('fails an attempt that runs past its timeout and aborts ctx.signal', async () => {
    const name = uniqueQueue('timeout');
    const queue = new Queue(name, { connection: redis.connection });
    const aborted: unknown[] = [];
    const worker = new Worker(
      name,
      (_job, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.push(ctx.signal.reason);
            resolve('too late');
          });
        }),
      { connection: redis.connection },
    );
    const failed: Error[] = [];
    worker.on('failed', (_job, error) => failed.push(error));
    await queue.add('slow', {}, { timeout: 50, attempts: 1 });
    await waitFor('timeout failure', () => failed.length === 1);
    expect(failed[0]).toBeInstanceOf(TimeoutError);
    expect(aborted[0]).toBeInstanceOf(TimeoutError);
    await worker.close();
    await queue.close();
  });

  it('uses a custom backoff strategy registered on the worker, and fails for good when it is missing', async () => {
    const name = uniqueQueue('custom');
    const queue = new Queue(name, { connection: redis.connection });
    const seen: number[] = [];
    const worker = new Worker(name, async () => {
      throw new Error('nope');
    }, {
      connection: redis.connection,
      backoffStrategies: { tiny: (retry) => (seen.push(retry), 5) },
    });
    const failed: Job[] = [];
    worker.on('failed', (job) => failed.push(job));
    await queue.add('a', {}, { attempts: 3, backoff: { type: 'tiny' } });
    await queue.add('b', {}, { attempts: 3, backoff: { type: 'unregistered' } });
    await waitFor('two failures', () => failed.length === 2);
    expect(seen).toEqual([1, 2]);
    const b = failed.find((job) => job.name === 'b');
    expect(b?.attemptsMade).toBe(1);
    expect(b?.failedReason).toContain("not retried: backoff strategy 'unregistered' is not registered");
    await worker.close();
    await queue.close();
  });
});

describe("the Job a Worker's settle events carry", () => {
  it('is the job as the settle left it: state, times, attempts, result or reason, as Redis holds them', async () => {
    const name = uniqueQueue('settled');
    const queue = new Queue(name, { connection: redis.connection });
    const seen = new Map<string, Pick<Job, 'state' | 'finishedOn' | 'processedOn' | 'dueAt' | 'attemptsMade' | 'attemptsStarted' | 'returnvalue' | 'failedReason' | 'stacktrace'>>();
    const snapshot = (event: string, job: Job): void => {
      const { state, finishedOn, processedOn, dueAt, attemptsMade, attemptsStarted, returnvalue, failedReason, stacktrace } = job;
      seen.set(`${event} ${job.name}`, { state, finishedOn, processedOn, dueAt, attemptsMade, attemptsStarted, returnvalue, failedReason, stacktrace });
    };
    let limitedOnce = false;
    const worker = new Worker(
      name,
      async (job, ctx) => {
        if (job.name === 'ok') return 'result';
        if (job.name === 'limited' && !limitedOnce) {
          limitedOnce = true;
          ctx.rateLimit(50);
        }
        if (job.name === 'limited') return 'later';
        if (job.name === 'bad') throw new UnrecoverableError('bad input');
        throw new Error(`${job.name} failed`);
      },
      { connection: redis.connection },
    );
    worker.on('completed', (job) => snapshot('completed', job));
    worker.on('failed', (job) => snapshot('failed', job));
    worker.on('retrying', (job) => snapshot('retrying', job));
    worker.on('rateLimited', (job) => snapshot('rateLimited', job));
    const ok = await queue.add('ok', {});
    const bad = await queue.add('bad', {});
    const later = await queue.add('later', {}, { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } });
    await queue.add('now', {}, { attempts: 2, backoff: { type: 'fixed', delay: 0 } });
    await queue.add('limited', {});
    await waitFor('every settle', () => seen.size === 7);

    const stored = async (id: string): Promise<Job> => (await queue.getJob(id))!;
    const done = await stored(ok.id);
    expect(seen.get('completed ok')).toEqual({
      state: 'completed', finishedOn: done.finishedOn, processedOn: done.processedOn, dueAt: undefined, attemptsMade: 1, attemptsStarted: 1,
      returnvalue: 'result', failedReason: undefined, stacktrace: undefined,
    });
    expect(done.finishedOn).toBeGreaterThan(0);
    const failed = await stored(bad.id);
    expect(seen.get('failed bad')).toMatchObject({ state: 'failed', finishedOn: failed.finishedOn, attemptsMade: 1, failedReason: 'bad input' });
    expect(seen.get('failed bad')?.stacktrace).toBe(failed.stacktrace);
    const delayed = await stored(later.id);
    expect(delayed.state).toBe('delayed');
    expect(seen.get('retrying later')).toMatchObject({ state: 'delayed', dueAt: delayed.dueAt, finishedOn: undefined, attemptsMade: 1, failedReason: 'later failed' });
    expect(seen.get('retrying now')).toMatchObject({ state: 'waiting', dueAt: undefined, finishedOn: undefined, attemptsMade: 1, failedReason: 'now failed' });
    // Its second attempt failed for good.
    expect(seen.get('failed now')).toMatchObject({ state: 'failed', attemptsMade: 2, attemptsStarted: 2 });
    expect(seen.get('rateLimited limited')).toMatchObject({ state: 'waiting', finishedOn: undefined, attemptsMade: 0 });
    expect(seen.get('completed limited')).toMatchObject({ state: 'completed', attemptsMade: 1, returnvalue: 'later' });
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });
});

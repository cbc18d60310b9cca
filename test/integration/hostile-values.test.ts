import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, ValidationError, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

/** Node's timers take at most this many ms; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMER_LIMIT_MESSAGE = "must be at most 2147483647 ms (Node's timer limit), got 2147483648";

/** Rejections nobody handled: a value that escapes a worker's attempt lands here. */
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', recordUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', recordUnhandled);
});

/** Total commands Redis has run so far (INFO commandstats). */
async function commandsSoFar(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(match[1]);
  return total;
}

/** Waits until `total` jobs are finished (completed or failed), or a rejection went unhandled. */
async function settledOrEscaped(queue: { getCounts(): Promise<{ completed: number; failed: number }> }, total: number): Promise<void> {
  await waitFor(`${total} jobs to finish, or an unhandled rejection`, async () => {
    if (unhandled.length > 0) return true;
    const counts = await queue.getCounts();
    return counts.completed + counts.failed === total;
  });
}

describe('retry delays', () => {
  it('retries after MAX_RETRY_DELAY_MS when a strategy asks for 1e300 ms, and fails a NaN one for good, saying why', async () => {
    const name = uniqueQueue('backoff');
    const queue = new Queue(name, { connection: redis.connection, defaultJobOptions: { attempts: 3 } });
    const runs: string[] = [];
    const worker = new Worker(
      name,
      async (job) => {
        runs.push(job.name);
        throw new Error('boom');
      },
      { connection: redis.connection, backoffStrategies: { huge: () => 1e300, nan: () => NaN } },
    );
    const retrying: number[] = [];
    worker.on('retrying', (_job, _error, delay) => retrying.push(delay));
    const huge = await queue.add('huge', {}, { backoff: { type: 'huge' } });
    const nan = await queue.add('nan', {}, { backoff: { type: 'nan' } });
    await waitFor('one retry and one failure', async () => {
      const counts = await queue.getCounts();
      return counts.failed >= 1 && retrying.length >= 1;
    });
    // Give a wrapped due time (-9.2e18: due at once) the chance to show as a second run.
    await sleep(300);
    expect(retrying).toEqual([MAX_TIMER_MS]);
    const delayed = await queue.getJob(huge.id);
    expect(delayed?.state).toBe('delayed');
    expect(delayed?.dueAt).toBeGreaterThan(Date.now() + MAX_TIMER_MS - 60_000);
    expect(runs.filter((run) => run === 'huge')).toEqual(['huge']);
    const failed = await queue.getJob(nan.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.failedReason).toBe("boom (not retried: backoff strategy 'nan' returned NaN; return a number of ms, or a negative number to stop retrying)");
    await worker.close();
    await queue.close();
  });
});

describe('durations past the timer limit', () => {
  it.each(['stalledTimeout', 'stalledInterval', 'heartbeatInterval', 'blockTimeout'])('a Worker refuses %s of 2^31 ms', (option) => {
    const make = (): unknown => new Worker(uniqueQueue('durations'), async () => undefined, { connection: redis.connection, autorun: false, [option]: 2 ** 31 });
    expect(make).toThrow(ValidationError);
    expect(make).toThrow(`${option} ${TIMER_LIMIT_MESSAGE}`);
  });

  it('a Queue refuses a commandTimeout or offlineTimeout, and QueueEvents a blockMs, past the limit or not a duration', () => {
    const name = uniqueQueue('durations');
    expect(() => new Queue(name, { connection: redis.connection, commandTimeout: 2 ** 31 })).toThrow(`commandTimeout ${TIMER_LIMIT_MESSAGE}`);
    expect(() => new Queue(name, { connection: redis.connection, offlineTimeout: 2 ** 31 })).toThrow(`offlineTimeout ${TIMER_LIMIT_MESSAGE}`);
    expect(() => new QueueEvents(name, { connection: redis.connection, blockMs: 2 ** 31 })).toThrow(`blockMs ${TIMER_LIMIT_MESSAGE}`);
    expect(() => new QueueEvents(name, { connection: redis.connection, blockMs: -1 })).toThrow('blockMs must be an integer from 0 to 2147483647, got -1');
    expect(() => new QueueEvents(name, { connection: redis.connection, blockMs: 'soon' as never })).toThrow(ValidationError);
  });

  it('refuses a job timeout past the limit, and runs a job with the longest one to completion', async () => {
    const name = uniqueQueue('timeout');
    const queue = new Queue(name, { connection: redis.connection });
    await expect(queue.add('x', {}, { timeout: 2 ** 31 })).rejects.toThrow(`timeout ${TIMER_LIMIT_MESSAGE}`);
    const worker = new Worker(name, async () => {
      await sleep(50);
      return 'finished';
    }, { connection: redis.connection });
    const job = await queue.add('x', {}, { timeout: MAX_TIMER_MS, attempts: 1 });
    await settledOrEscaped(queue, 1);
    expect((await queue.getJob(job.id))?.returnvalue).toBe('finished');
    await worker.close();
    await queue.close();
  });

  it('refuses a waitUntilFinished timeout past the limit instead of timing out at once', async () => {
    const name = uniqueQueue('wait');
    const queue = new Queue(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    const job = await queue.add('x', {});
    await expect(job.waitUntilFinished(events, 2 ** 31)).rejects.toThrow(`waitUntilFinished timeoutMs ${TIMER_LIMIT_MESSAGE}`);
    await expect(job.waitUntilFinished(events, -5)).rejects.toBeInstanceOf(ValidationError);
    await events.close();
    await queue.close();
  });

  it('an idle worker with every duration at its maximum blocks instead of spinning, a job due just inside the limit included', async () => {
    const name = uniqueQueue('idle-max');
    const client = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    // Due before blockTimeout: the worker sets a local timer for it, the one that overflowed.
    await queue.add('far', {}, { delay: MAX_TIMER_MS - 60_000 });
    const worker = new Worker(name, async () => undefined, {
      connection: redis.connection,
      blockTimeout: MAX_TIMER_MS,
      stalledTimeout: MAX_TIMER_MS,
      stalledInterval: MAX_TIMER_MS,
      heartbeatInterval: MAX_TIMER_MS - 1,
    });
    await sleep(300);
    const before = await commandsSoFar(client);
    await sleep(1000);
    // Overflowed timers fire every millisecond: thousands of commands a second.
    expect((await commandsSoFar(client)) - before).toBeLessThan(10);
    await worker.close();
    await queue.close();
    await client.quit();
  });
});

describe('names', () => {
  it('refuses job ids with a lone surrogate: Redis would store two of them as the same U+FFFD', async () => {
    const name = uniqueQueue('ids');
    const queue = new Queue(name, { connection: redis.connection });
    await expect(queue.add('a', {}, { jobId: 'order-\uD800' })).rejects.toThrow('jobId has a lone surrogate (\\uD800 at index 6)');
    await expect(queue.add('b', {}, { jobId: 'order-\uDC00' })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.getJob('order-\uD800')).rejects.toBeInstanceOf(ValidationError);
    expect((await queue.getCounts()).waiting).toBe(0);
    const astral = await queue.add('c', {}, { jobId: 'order-😀' });
    expect((await queue.getJob('order-😀'))?.id).toBe(astral.id);
    await queue.close();
  });

  it('refuses queue names with DEL, a C1 control character or a lone surrogate', () => {
    for (const name of ['del\x7f', 'next-line\u0085', 'csi\u009b', 'half\uD83D']) {
      expect(() => new Queue(name, { connection: redis.connection })).toThrow(ValidationError);
    }
  });
});

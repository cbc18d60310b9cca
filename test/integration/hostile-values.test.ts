import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, ValidationError, Worker, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';
import { callsSoFar } from '../harness/commandstats.js';

const redis = useRedis();

/** Node's timers take at most this many ms; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMER_LIMIT_MESSAGE = "must be at most 2147483647 ms (Node's timer limit), got 2147483648";

/** Rejections nobody handled: a thrown value that escapes a worker's attempt lands here. */
const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', recordUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', recordUnhandled);
});

/** Total commands Redis has run so far, scripts' own commands included. */
const commandsSoFar = (client: Redis): Promise<number> => callsSoFar(client);

/** Waits until `total` jobs are finished (completed or failed), or a rejection went unhandled. */
async function settledOrEscaped(queue: { getCounts(): Promise<{ completed: number; failed: number }> }, total: number): Promise<void> {
  await waitFor(`${total} jobs to finish, or an unhandled rejection`, async () => {
    if (unhandled.length > 0) return true;
    const counts = await queue.getCounts();
    return counts.completed + counts.failed === total;
  });
}

describe('a handler cannot crash the process', () => {
  it('fails a job whose handler throws a non-Error, with a readable reason, and goes on with the next', async () => {
    const name = uniqueQueue('thrown');
    const queue = new Queue<{ kind: string; sync: boolean }>(name, { connection: redis.connection, defaultJobOptions: { attempts: 1 } });
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const values: Record<string, [() => unknown, string]> = {
      bigint: [() => 10n, '10n'],
      circular: [() => circular, "<ref *1> { name: 'loop', self: [Circular *1] }"],
      toJSON: [() => ({ toJSON: () => { throw new Error('no JSON'); } }), '{ toJSON: [Function: toJSON] }'],
      null: [() => null, 'null'],
      undefined: [() => undefined, 'undefined'],
      symbol: [() => Symbol('boom'), 'Symbol(boom)'],
      revokedProxy: [
        () => {
          const { proxy, revoke } = Proxy.revocable({}, {});
          revoke();
          return proxy;
        },
        '<Revoked Proxy>',
      ],
      string: [() => 'plain text', 'plain text'],
      object: [() => ({ code: 42 }), '{"code":42}'],
    };
    const processor = (job: Job<{ kind: string; sync: boolean }>): Promise<string> => {
      const make = values[job.data.kind]?.[0];
      if (make === undefined) return Promise.resolve('ok');
      const value = make();
      // Thrown before the handler's first await, and rejected after it: both paths of Worker#invoke.
      if (job.data.sync) throw value;
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point of the test
      return Promise.reject(value);
    };
    const worker = new Worker<{ kind: string; sync: boolean }, string>(name, processor, { connection: redis.connection, concurrency: 4 });
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    const kinds = Object.keys(values);
    const jobs = await queue.addBulk(kinds.flatMap((kind) => [true, false].map((sync) => ({ name: kind, data: { kind, sync } }))));
    const ok = await queue.add('ok', { kind: 'ok', sync: false });
    await settledOrEscaped(queue, jobs.length + 1);
    expect(unhandled).toEqual([]);
    expect(errors).toEqual([]);
    for (const job of jobs) {
      const stored = await queue.getJob(job.id);
      expect([job.data.kind, job.data.sync, stored?.state, stored?.failedReason]).toEqual([job.data.kind, job.data.sync, 'failed', values[job.data.kind]?.[1]]);
    }
    expect((await queue.getJob(ok.id))?.state).toBe('completed');
    await worker.close();
    await queue.close();
  });

  it('fails the attempt, not the process, when progress stops encoding after updateProgress', async () => {
    const name = uniqueQueue('progress');
    const settings = { connection: redis.connection, maxPayloadBytes: 1024 };
    const queue = new Queue(name, { ...settings, defaultJobOptions: { attempts: 1 } });
    const worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'ok') return 'ok';
        const progress: Record<string, unknown> = { step: 1 };
        await job.updateProgress(progress);
        if (job.name === 'function') progress.callback = () => 1;
        else progress.blob = 'x'.repeat(5000);
        return 'done';
      },
      settings,
    );
    const fn = await queue.add('function', {});
    const big = await queue.add('big', {});
    const ok = await queue.add('ok', {});
    await settledOrEscaped(queue, 3);
    expect(unhandled).toEqual([]);
    expect((await queue.getJob(fn.id))?.failedReason).toBe('progress.callback is a function; job data must be plain data (functions cannot be stored)');
    expect((await queue.getJob(big.id))?.failedReason).toMatch(/^progress encodes to \d+ bytes, over the limit of 1024 bytes/);
    expect((await queue.getJob(ok.id))?.state).toBe('completed');
    await worker.close();
    await queue.close();
  });

  it('cuts a failure reason and stack at 16 KiB of UTF-8, never inside a character', async () => {
    const name = uniqueQueue('reason');
    const queue = new Queue<{ text: string }>(name, { connection: redis.connection, defaultJobOptions: { attempts: 1 } });
    const worker = new Worker<{ text: string }>(name, async (job) => {
      throw new Error(job.data.text);
    }, { connection: redis.connection });
    // 48 KiB of euro signs was stored whole: the cut counted 16,384 UTF-16 units.
    const euros = await queue.add('euros', { text: '€'.repeat(16_384) });
    const emoji = await queue.add('emoji', { text: `a${'😀'.repeat(5000)}` });
    await settledOrEscaped(queue, 2);
    const first = await queue.getJob(euros.id);
    expect(first?.failedReason).toBe('€'.repeat(5461));
    expect(Buffer.byteLength(first?.stacktrace ?? '')).toBeLessThanOrEqual(16_384);
    expect(first?.stacktrace?.startsWith('Error: €€€')).toBe(true);
    // 1 + 4,095 x 4 = 16,381 bytes; one more emoji would pass 16,384, and half of one would be U+FFFD.
    expect((await queue.getJob(emoji.id))?.failedReason).toBe(`a${'😀'.repeat(4095)}`);
    await worker.close();
    await queue.close();
  });

  it('cuts a log line at 16 KiB of UTF-8, or at maxPayloadBytes where the queue set that lower', async () => {
    const name = uniqueQueue('log');
    const small = new Queue(name, { connection: redis.connection, maxPayloadBytes: 1024 });
    const plain = new Queue(name, { connection: redis.connection });
    const added = await plain.add('chatty', {});
    const viaSmall = await small.getJob(added.id);
    const viaPlain = await plain.getJob(added.id);
    const fourMiB = 'x'.repeat(4 * 1024 * 1024);
    expect(await viaSmall?.log(fourMiB)).toBe(1);
    expect(await viaSmall?.log('€'.repeat(1000))).toBe(2);
    expect(await viaPlain?.log(fourMiB)).toBe(3);
    const lines = (await plain.getJob(added.id).then((job) => job?.getLogs())) ?? [];
    expect(lines.map((line) => Buffer.byteLength(line))).toEqual([1024, 1023, 16_384]);
    expect(lines[1]).toBe('€'.repeat(341));
    await small.close();
    await plain.close();
  });
});

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

describe('a Worker listener that throws', () => {
  it('is reported, never thrown into the attempt: every job still settles once, and the process goes on', async () => {
    const name = uniqueQueue('listener');
    const queue = new Queue<{ fail: boolean }>(name, { connection: redis.connection, defaultJobOptions: { attempts: 1 } });
    const worker = new Worker<{ fail: boolean }>(name, async (job) => {
      if (job.data.fail) throw new Error('boom');
      return 'ok';
    }, { connection: redis.connection, concurrency: 4 });
    const reported: string[] = [];
    worker.on('error', (error) => reported.push(error.message));
    for (const event of ['active', 'completed', 'failed'] as const) {
      worker.on(event, () => {
        throw new Error(`${event} listener broke`);
      });
    }
    await queue.addBulk([{ name: 'n', data: { fail: false } }, { name: 'n', data: { fail: true } }]);
    await settledOrEscaped(queue, 2);
    expect(await queue.getCounts()).toMatchObject({ completed: 1, failed: 1, active: 0 });
    await waitFor('the listeners\' errors to be reported', () => reported.length === 4);
    expect(reported.sort()).toEqual([
      `a 'active' listener of worker '${name}' threw: active listener broke`,
      `a 'active' listener of worker '${name}' threw: active listener broke`,
      `a 'completed' listener of worker '${name}' threw: completed listener broke`,
      `a 'failed' listener of worker '${name}' threw: failed listener broke`,
    ]);
    // An 'error' listener that throws too: a process warning says both.
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    worker.removeAllListeners('error');
    worker.on('error', () => {
      throw new Error('error listener broke');
    });
    await queue.add('n', { fail: false });
    await settledOrEscaped(queue, 3);
    await waitFor('the warnings', () => warnings.some((w) => w.includes('error listener broke')));
    process.off('warning', onWarning);
    expect(unhandled).toEqual([]);
    await worker.close();
    await queue.close();
  });
});

describe('a RateLimitError of 1e300 ms', () => {
  it('holds the queue for at most MAX_TIMER_MS, as a retry waits at most that long', async () => {
    const name = uniqueQueue('hold');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker(name, (_job, ctx) => ctx.rateLimit(1e300), { connection: redis.connection });
    const held: number[] = [];
    worker.on('rateLimited', (_job, holdMs) => held.push(holdMs));
    await queue.add('n', {});
    await waitFor('the release', () => held.length === 1);
    expect(held).toEqual([MAX_TIMER_MS]);
    const client = new Redis(redis.url);
    const hold = Number(await client.hget(queue.store.keys.meta, 'hold'));
    await client.quit();
    expect(hold).toBeGreaterThan(Date.now() + MAX_TIMER_MS - 60_000);
    expect(hold).toBeLessThan(Date.now() + MAX_TIMER_MS + 60_000);
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

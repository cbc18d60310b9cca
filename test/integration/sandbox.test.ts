import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, SandboxError, ValidationError, Worker, type Job } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { GROUP } from '../../src/redis/store.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/sandbox/${name}.ts`, import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Collects a worker's completed results and failed-for-good reasons by job id. */
function outcomes<R>(worker: Worker<unknown, R>): { completed: Map<string, R>; failed: Map<string, string>; retried: string[] } {
  const completed = new Map<string, R>();
  const failed = new Map<string, string>();
  const retried: string[] = [];
  worker.on('completed', (job: Job<unknown, R>, result: R) => completed.set(job.id, result));
  worker.on('failed', (job, error) => failed.set(job.id, error.message));
  worker.on('retrying', (_job, error) => retried.push(error.message));
  return { completed, failed, retried };
}

describe('sandboxed processors', () => {
  for (const kind of ['process', 'thread'] as const) {
    it(`runs a processor file in a ${kind}, with progress and logs proxied to Redis`, async () => {
      const name = uniqueQueue(`sandbox-${kind}`);
      const queue = new Queue(name, { connection: redis.connection });
      const worker = new Worker<unknown, { n: number; pid: number; main: boolean; meta: unknown; processedBy: string }>(name, fixture('echo'), {
        connection: redis.connection,
        concurrency: 2,
        sandbox: { kind },
      });
      const { completed } = outcomes(worker);
      const jobs = await queue.addBulk([1, 2, 3, 4].map((n) => ({ name: 'echo', data: { n }, opts: { meta: { tenant: `t${n}` } } })));
      await waitFor('4 completions', () => completed.size === 4, 30_000);
      const results = jobs.map((job) => completed.get(job.id));
      expect(results.map((r) => r?.n)).toEqual([1, 2, 3, 4]);
      expect(results.map((r) => r?.meta)).toEqual([1, 2, 3, 4].map((n) => ({ tenant: `t${n}` })));
      expect(results.every((r) => r?.processedBy === worker.consumer)).toBe(true);
      if (kind === 'process') expect(results.every((r) => r !== undefined && r.pid !== process.pid)).toBe(true);
      else expect(results.every((r) => r !== undefined && r.pid === process.pid && !r.main)).toBe(true);
      // Runners are reused: at most `concurrency` of them for 4 jobs.
      expect(new Set(results.map((r) => `${r?.pid}`)).size).toBeLessThanOrEqual(kind === 'process' ? 2 : 1);
      const stored = await queue.getJob(jobs[0]!.id);
      expect(stored?.progress).toEqual({ step: 1 });
      expect(await stored?.getLogs()).toEqual([`ran in ${results[0]!.pid}`]);
      await worker.close();
      await queue.close();
    }, 60_000);
  }

  for (const [how, kind] of [['exit', 'process'], ['segv', 'process'], ['exit', 'thread'], ['heap', 'thread']] as const) {
    it(`fails the attempt, not the worker, when the handler's ${kind} dies (${how}), then retries in a new runner`, async () => {
      const name = uniqueQueue(`sandbox-crash-${how}`);
      const queue = new Queue(name, { connection: redis.connection });
      const worker = new Worker<unknown, string>(name, fixture('crash-once'), {
        connection: redis.connection,
        sandbox: { kind, ...(how === 'heap' ? { maxMemoryMb: 32 } : {}) },
      });
      const { completed, retried } = outcomes(worker);
      const errors: Error[] = [];
      worker.on('error', (error) => errors.push(error));
      const job = await queue.add('crash', { how }, { attempts: 2, backoff: { type: 'fixed', delay: 0 } });
      await waitFor('the retry to complete', () => completed.has(job.id), 30_000);
      expect(completed.get(job.id)).toBe('ok on attempt 2');
      expect(retried).toHaveLength(1);
      expect(retried[0]).toMatch(how === 'heap' ? /ran out of memory/ : how === 'segv' ? /ended by SIGSEGV/ : /exited with code 3/);
      expect(errors).toEqual([]);
      await worker.close();
      await queue.close();
    }, 60_000);
  }

  it('keeps the heartbeats going while a handler burns CPU (in-process it would stall)', async () => {
    const name = uniqueQueue('sandbox-busy');
    const queue = new Queue(name, { connection: redis.connection });
    // A 3 s busy loop against a 1 s stalledTimeout (heartbeat every 333 ms): the lease stays fresh only if the
    // Worker's event loop is free while the handler spins.
    const worker = new Worker<unknown, number>(name, fixture('busy'), { connection: redis.connection, stalledTimeout: 1000, sandbox: { kind: 'thread' } });
    const { completed } = outcomes(worker);
    const job = await queue.add('busy', { ms: 3000 });
    const client = new Redis(redis.url);
    const stream = queueKeys(name, 'sluice', 3).wait[1]!;
    const idle: number[] = [];
    while (!completed.has(job.id)) {
      const pending = (await client.xpending(stream, GROUP, '-', '+', 10)) as [string, string, number, number][];
      for (const entry of pending) idle.push(entry[2]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await client.quit();
    // Sampled all along the run (the test's own event loop was free too), and never near the stall.
    expect(idle.length).toBeGreaterThan(15);
    expect(Math.max(...idle)).toBeLessThan(1000);
    expect((await queue.getJob(job.id))?.state).toBe('completed');
    await worker.close();
    await queue.close();
  }, 60_000);

  it('keeps the meaning of RateLimitError and UnrecoverableError, and a plain error its message', async () => {
    const name = uniqueQueue('sandbox-errors');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker<unknown, string>(name, fixture('errors'), { connection: redis.connection, concurrency: 3 });
    const { completed, failed } = outcomes(worker);
    const [limited, unrecoverable, plain] = await queue.addBulk([
      { name: 'e', data: { kind: 'rate-limit' } },
      { name: 'e', data: { kind: 'unrecoverable' }, opts: { attempts: 5 } },
      { name: 'e', data: { kind: 'plain' }, opts: { attempts: 1 } },
    ]);
    await waitFor('all three settled for good', () => completed.size === 1 && failed.size === 2, 30_000);
    expect(completed.get(limited!.id)).toBe('after the hold');
    const held = await queue.getJob(limited!.id);
    expect(held?.attemptsMade).toBe(1); // the rate-limited run used no attempt
    expect(held?.attemptsStarted).toBe(2);
    expect(failed.get(unrecoverable!.id)).toBe('bad input, do not retry');
    expect((await queue.getJob(unrecoverable!.id))?.attemptsMade).toBe(1); // not retried
    expect(failed.get(plain!.id)).toBe('a plain failure');
    await worker.close();
    await queue.close();
  }, 60_000);

  it('kills a runner whose handler ignores its signal after a timeout, and runs the next job in a new one', async () => {
    const name = uniqueQueue('sandbox-timeout');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker<unknown, string>(name, fixture('errors'), { connection: redis.connection });
    const { completed, failed } = outcomes(worker);
    const first = await queue.add('e', { kind: 'pid' });
    await waitFor('the first pid', () => completed.has(first.id), 30_000);
    const before = Number(completed.get(first.id));
    const stuck = await queue.add('e', { kind: 'ignores-signal' }, { timeout: 300, attempts: 1 });
    await waitFor('the timeout', () => failed.has(stuck.id), 30_000);
    expect(failed.get(stuck.id)).toMatch(/ran past its timeout of 300 ms/);
    await waitFor('the stuck runner killed', () => !alive(before), 10_000);
    const next = await queue.add('e', { kind: 'pid' });
    await waitFor('the next pid', () => completed.has(next.id), 30_000);
    expect(Number(completed.get(next.id))).not.toBe(before);
    await worker.close();
    expect(alive(Number(completed.get(next.id)))).toBe(false); // close ends the runners
    await queue.close();
  }, 60_000);

  it('refuses a relative path and a missing file with a ValidationError', () => {
    expect(() => new Worker('x', 'fixtures/echo.ts', { connection: redis.connection, autorun: false })).toThrow(ValidationError);
    expect(() => new Worker('x', '/nonexistent/processor.js', { connection: redis.connection, autorun: false })).toThrow(/does not exist/);
    expect(() => new Worker('x', new URL('https://example.com/p.js'), { connection: redis.connection, autorun: false })).toThrow(/file: URL/);
    expect(new SandboxError('x').code).toBe('ERR_SLUICE_SANDBOX');
  });
});

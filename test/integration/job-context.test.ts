// Job meta and the Queue's context(): stamped at add, carried through every home of a job (retry, promotion,
// schedule, records), refused over its cap with nothing written, free for a job without it; and the
// Worker's middleware around the handler: order, AsyncLocalStorage restored from meta, failures.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Queue, RateLimitError, ValidationError, Worker, type Job, type JobMeta } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

interface RequestContext {
  tenant: string;
  user?: string;
}

/** The raw fields of a job's stream entry, as Redis holds them. */
async function entryFields(admin: Redis, queue: Queue, id: string): Promise<Record<string, string>> {
  for (const key of queue.store.keys.wait) {
    for (const [entryId, fields] of await admin.xrange(key, '-', '+')) {
      const values: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) values[fields[i] as string] = fields[i + 1] as string;
      if (values.id === id || entryId === `${id}-0`) return values;
    }
  }
  throw new Error(`no entry for job ${id}`);
}

describe('meta from the producer context', () => {
  it("stamps each add with what context() reads from the caller's AsyncLocalStorage, under the job's own meta", async () => {
    const name = uniqueQueue('meta-context');
    const als = new AsyncLocalStorage<RequestContext>();
    const queue = new Queue(name, { connection: redis.connection, context: () => als.getStore() });
    const plain = await queue.add('outside', {});
    const [acme, own] = await als.run({ tenant: 'acme', user: 'u1' }, () =>
      Promise.all([queue.add('inside', {}), queue.add('own', {}, { meta: { user: 'u2', requestId: 'r-9' } })]),
    );
    const bulk = await als.run({ tenant: 'globex' }, () => queue.addBulk([{ name: 'b1', data: {} }, { name: 'b2', data: {}, opts: { meta: { tenant: 'x' } } }]));
    expect(plain.meta).toBeUndefined();
    expect(acme?.meta).toEqual({ tenant: 'acme', user: 'u1' });
    expect(own?.meta).toEqual({ tenant: 'acme', user: 'u2', requestId: 'r-9' });
    expect(bulk.map((job) => job.meta)).toEqual([{ tenant: 'globex' }, { tenant: 'x' }]);
    // As Redis holds them, read back.
    expect((await queue.getJob(own.id))?.meta).toEqual({ tenant: 'acme', user: 'u2', requestId: 'r-9' });
    expect((await queue.getJob(plain.id))?.meta).toBeUndefined();

    const seen = new Map<string, JobMeta | undefined>();
    const worker = new Worker(name, async (job) => void seen.set(job.name, job.meta), { connection: redis.connection });
    await waitFor('every job', () => seen.size === 5);
    expect(Object.fromEntries(seen)).toEqual({
      outside: undefined,
      inside: { tenant: 'acme', user: 'u1' },
      own: { tenant: 'acme', user: 'u2', requestId: 'r-9' },
      b1: { tenant: 'globex' },
      b2: { tenant: 'x' },
    });
    await worker.close();
    await queue.close();
  });

  it('costs a job without meta nothing: its entry is the fresh layout with empty options, context() or not', async () => {
    const name = uniqueQueue('meta-free');
    const admin = new Redis(redis.url);
    const bare = new Queue(name, { connection: redis.connection });
    const withContext = new Queue(name, { connection: redis.connection, context: () => undefined });
    const emptyContext = new Queue(name, { connection: redis.connection, context: () => ({}) });
    const jobs = [await bare.add('a', {}), await withContext.add('b', {}), await emptyContext.add('c', {})];
    for (const job of jobs) {
      const fields = await entryFields(admin, bare, job.id);
      expect(Object.keys(fields)).toEqual(['name', 'data', 'opts', 'ts']);
      expect(fields.opts).toBe('');
    }
    const stamped = new Queue(name, { connection: redis.connection, context: () => ({ tenant: 't' }) });
    const job = await stamped.add('d', {});
    expect((await entryFields(admin, bare, job.id)).opts).not.toBe('');
    await Promise.all([bare.close(), withContext.close(), emptyContext.close(), stamped.close()]);
    await admin.quit();
  });

  it('refuses meta over 1 KiB, or that is not plain, with a ValidationError and nothing written', async () => {
    const name = uniqueQueue('meta-cap');
    const admin = new Redis(redis.url);
    let context: Record<string, unknown> | undefined;
    const queue = new Queue(name, { connection: redis.connection, context: () => context });
    const idBefore = await admin.get(queue.store.keys.id);
    await expect(queue.add('big', {}, { meta: { blob: 'x'.repeat(1100) } })).rejects.toThrow(/meta is \d+ bytes encoded; the limit is 1024 bytes/);
    await expect(queue.add('big', {}, { meta: { blob: 'x'.repeat(1100) } })).rejects.toBeInstanceOf(ValidationError);
    // Each part under the cap, together over it.
    context = { a: 'x'.repeat(600) };
    await expect(queue.add('merged', {}, { meta: { b: 'y'.repeat(600) } })).rejects.toThrow(/the limit is 1024 bytes/);
    context = { nested: { a: 1 } };
    await expect(queue.add('nested', {})).rejects.toThrow("meta.nested is object; meta values are strings, finite numbers or booleans");
    context = undefined;
    await expect(queue.add('null', {}, { meta: { a: null } as never })).rejects.toThrow('meta.a is null');
    await expect(queue.add('nan', {}, { meta: { a: Number.NaN } })).rejects.toThrow('meta.a is number');
    await expect(queue.add('array', {}, { meta: ['a'] as never })).rejects.toThrow('meta must be a plain object');
    await expect(queue.addBulk([{ name: 'ok', data: {} }, { name: 'big', data: {}, opts: { meta: { blob: 'x'.repeat(2000) } } }])).rejects.toBeInstanceOf(ValidationError);
    expect(() => new Queue(name, { connection: redis.connection, defaultJobOptions: { meta: { a: 1 } } as never })).toThrow("defaultJobOptions may not set 'meta'");
    const thrower = new Queue(name, {
      connection: redis.connection,
      context: () => {
        throw new Error('no request');
      },
    });
    await expect(thrower.add('x', {})).rejects.toThrow('no request');
    // Nothing was written: no job, no id taken, not even the queue.
    expect(await admin.get(queue.store.keys.id)).toBe(idBefore);
    expect(await admin.exists(queue.store.keys.meta)).toBe(0);
    // Exactly at the cap is fine.
    const at = await queue.add('at-cap', {}, { meta: { k: 'x'.repeat(1024 - 6) } });
    expect(at.meta?.k).toHaveLength(1018);
    await thrower.close();
    await queue.close();
    await admin.quit();
  });

  it('survives a retry after a backoff, promotion, completion and failure for good', async () => {
    const name = uniqueQueue('meta-survives');
    const queue = new Queue(name, { connection: redis.connection });
    const meta = { tenant: 'acme', seat: 3, trial: false };
    const retried = await queue.add('retried', {}, { meta, attempts: 2, backoff: { type: 'fixed', delay: 30 } });
    const promoted = await queue.add('promoted', {}, { meta, delay: 60_000 });
    const doomed = await queue.add('doomed', {}, { meta, attempts: 1 });
    const seen: string[] = [];
    const worker = new Worker(
      name,
      async (job) => {
        seen.push(`${job.name}:${job.attemptsMade}:${JSON.stringify(job.meta)}`);
        if (job.name === 'doomed' || (job.name === 'retried' && job.attemptsMade === 0)) throw new Error('boom');
        return 'ok';
      },
      { connection: redis.connection },
    );
    await waitFor('the retried and doomed jobs', async () => (await queue.getCounts()).completed === 1 && (await queue.getCounts()).failed === 1);
    expect((await queue.getJob(promoted.id))?.meta).toEqual(meta);
    await queue.promoteJob(promoted.id);
    await waitFor('the promoted job', async () => (await queue.getCounts()).completed === 2);
    const m = JSON.stringify(meta);
    expect(seen.sort()).toEqual([`doomed:0:${m}`, `promoted:0:${m}`, `retried:0:${m}`, `retried:1:${m}`]);
    for (const job of [retried, promoted, doomed]) expect((await queue.getJob(job.id))?.meta).toEqual(meta);
    await worker.close();
    await queue.close();
  });

  it("stamps a flow's jobs and its onFailure job from context(), and a waiting job runs with its meta", async () => {
    const name = uniqueQueue('meta-flow');
    const als = new AsyncLocalStorage<RequestContext>();
    const queue = new Queue(name, { connection: redis.connection, context: () => als.getStore() });
    const { jobs, onFailure } = await als.run({ tenant: 'acme' }, () =>
      queue.addFlow({
        jobs: [
          { key: 'A', name: 'a', data: {} },
          { key: 'B', name: 'b', data: {}, dependsOn: ['A'], opts: { meta: { step: 2 } } },
        ],
        onFailure: { name: 'on-failure', data: {} },
      }),
    );
    expect([jobs.A?.meta, jobs.B?.meta, onFailure?.meta]).toEqual([{ tenant: 'acme' }, { tenant: 'acme', step: 2 }, { tenant: 'acme' }]);
    const seen = new Map<string, JobMeta | undefined>();
    const worker = new Worker(name, async (job) => void seen.set(job.name, job.meta), { connection: redis.connection });
    await waitFor('both jobs', () => seen.size === 2);
    expect(Object.fromEntries(seen)).toEqual({ a: { tenant: 'acme' }, b: { tenant: 'acme', step: 2 } });
    await worker.close();
    await queue.close();
  });

  it("carries a schedule's meta into every job it fires", async () => {
    const name = uniqueQueue('meta-schedule');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.upsertSchedule('nightly', { every: 100 }, { name: 'report', data: {}, opts: { meta: { tenant: 'acme' } } });
    expect((await queue.getSchedules())[0]?.job.opts.meta).toEqual({ tenant: 'acme' });
    const seen: (JobMeta | undefined)[] = [];
    const worker = new Worker(name, async (job) => void seen.push(job.meta), { connection: redis.connection });
    await waitFor('two ticks', () => seen.length >= 2);
    expect(seen.slice(0, 2)).toEqual([{ tenant: 'acme' }, { tenant: 'acme' }]);
    await worker.close();
    await queue.removeSchedule('nightly');
    await queue.close();
  });
});

/** A debug-level pino logger whose lines are kept, parsed. */
function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('meta in log lines', () => {
  it('binds the keys telemetryMeta names, and no others, to job.logger and the worker lines', async () => {
    const name = uniqueQueue('meta-logs');
    const log = capture();
    const queue = new Queue(name, { connection: redis.connection });
    await queue.add('one', {}, { meta: { tenant: 'acme', email: 'ada@example.com' } });
    await queue.add('bare', {});
    const worker = new Worker(name, async (job) => void job.logger.info('inside'), { connection: redis.connection, logger: log.logger, telemetryMeta: ['tenant', 'absent'] });
    await waitFor('both completions logged', () => log.lines().filter((line) => line.msg === 'job completed').length === 2);
    await worker.close();
    await queue.close();
    const byJob = (jobName: string, msg: string) => log.lines().find((line) => line.jobName === jobName && line.msg === msg);
    expect(byJob('one', 'inside')?.meta).toEqual({ tenant: 'acme' });
    expect(byJob('one', 'job started')?.meta).toEqual({ tenant: 'acme' });
    expect(byJob('one', 'job completed')?.meta).toEqual({ tenant: 'acme' });
    expect(byJob('bare', 'inside')).not.toHaveProperty('meta');
    expect(JSON.stringify(log.lines())).not.toContain('ada@example.com');
  });
});

describe('worker middleware', () => {
  it('runs in the order added, around the handler, and restores meta into the worker AsyncLocalStorage', async () => {
    const name = uniqueQueue('middleware');
    const queue = new Queue<{ n: number }, string>(name, { connection: redis.connection });
    const als = new AsyncLocalStorage<JobMeta | undefined>();
    const trail: string[] = [];
    const worker = new Worker<{ n: number }, string>(
      name,
      async (job) => {
        trail.push(`handler tenant=${String(als.getStore()?.tenant)}`);
        return `n=${job.data.n}`;
      },
      { connection: redis.connection, autorun: false },
    );
    worker
      .use(async (job, _ctx, next) => {
        trail.push('outer in');
        const result = await als.run(job.meta, next);
        trail.push('outer out');
        return `${result}!`;
      })
      .use(async (_job, ctx, next) => {
        trail.push(`inner in signal=${ctx.signal.aborted}`);
        const result = await next();
        trail.push(`inner out tenant=${String(als.getStore()?.tenant)}`);
        return result;
      });
    const job = await queue.add('x', { n: 7 }, { meta: { tenant: 'acme' } });
    const completed = new Promise<string>((resolve) => worker.once('completed', (_job, result) => resolve(result)));
    void worker.run();
    expect(await completed).toBe('n=7!');
    expect(trail).toEqual(['outer in', 'inner in signal=false', 'handler tenant=acme', 'inner out tenant=acme', 'outer out']);
    expect((await queue.getJob(job.id))?.returnvalue).toBe('n=7!');
    await worker.close();
    await queue.close();
  });

  it('fails the attempt when a middleware throws, before or after next(), as a handler throw would', async () => {
    const name = uniqueQueue('middleware-fail');
    const queue = new Queue(name, { connection: redis.connection });
    let handled = 0;
    const worker = new Worker(name, async () => void handled++, { connection: redis.connection, autorun: false });
    worker.use(async (job, _ctx, next) => {
      if (job.name === 'before') throw new Error('no transaction');
      await next();
      if (job.name === 'after') throw new Error('commit failed');
      if (job.name === 'twice') return next();
      if (job.name === 'limited' && job.attemptsStarted === 1) throw new RateLimitError(10);
      return undefined;
    });
    const failed = new Map<string, string>();
    const limited: string[] = [];
    worker.on('failed', (job: Job, error) => void failed.set(job.name, error.message));
    worker.on('rateLimited', (job: Job) => void limited.push(job.name));
    await queue.addBulk(['before', 'after', 'twice', 'limited'].map((jobName) => ({ name: jobName, data: {}, opts: { attempts: 1 } })));
    void worker.run();
    await waitFor('three failures and one completion', async () => failed.size === 3 && (await queue.getCounts()).completed === 1);
    expect(Object.fromEntries(failed)).toEqual({
      before: 'no transaction',
      after: 'commit failed',
      twice: expect.stringMatching(/middleware 1 of worker for queue '.*' called next\(\) twice/) as string,
    });
    expect(limited).toEqual(['limited']);
    // The handler ran for after, twice (once) and limited (twice: released, then completed); never for before.
    expect(handled).toBe(4);
    await worker.close();
    await queue.close();
  });

  it('refuses a middleware that is not a function', async () => {
    const worker = new Worker(uniqueQueue('middleware-bad'), async () => undefined, { connection: redis.connection, autorun: false });
    expect(() => worker.use('log' as never)).toThrow('worker.use() takes a function (job, ctx, next) => Promise<result>, got string');
    await worker.close();
  });
});

describe('lifecycle hooks', () => {
  it('runs completed, retrying and failed listeners in the worker, and reports an async listener that rejects', async () => {
    const name = uniqueQueue('hooks');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'bad') throw new Error('nope');
      },
      { connection: redis.connection },
    );
    const seen: string[] = [];
    const errors: string[] = [];
    worker.on('retrying', (job: Job) => void seen.push(`retrying ${job.name}`));
    worker.on('failed', (job: Job) => void seen.push(`failed ${job.name} ${job.state}`));
    // An async listener is this test's subject: its rejection must be reported, not left unhandled.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    worker.on('completed', async (job: Job) => {
      seen.push(`completed ${job.name}`);
      await Promise.resolve();
      throw new Error('hook broke');
    });
    worker.on('error', (error) => void errors.push(error.message));
    await queue.add('bad', {}, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
    await queue.add('good', {});
    await waitFor('the hooks', () => seen.length === 3 && errors.length === 1);
    expect(seen.sort()).toEqual(['completed good', 'failed bad failed', 'retrying bad']);
    expect(errors[0]).toMatch(/a 'completed' listener of worker '.*' rejected: hook broke/);
    await worker.close();
    await queue.close();
  });

  it("reports an async 'error' listener that rejects once, as a process warning, not to itself again", async () => {
    const name = uniqueQueue('hooks-error');
    const queue = new Queue(name, { connection: redis.connection });
    const worker = new Worker(name, async () => undefined, { connection: redis.connection });
    let calls = 0;
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    // The subject of this test, as above.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    worker.on('error', async () => {
      calls++;
      await Promise.resolve();
      throw new Error('listener broke');
    });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    worker.on('completed', async () => {
      await Promise.resolve();
      throw new Error('hook broke');
    });
    await queue.add('x', {});
    await waitFor('the warning', () => warnings.some((w) => w.includes('listener broke')));
    await sleep(100);
    expect(calls).toBe(1);
    expect(warnings.filter((w) => w.includes('listener broke'))).toHaveLength(1);
    process.off('warning', onWarning);
    await worker.close();
    await queue.close();
  });
});

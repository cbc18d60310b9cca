// OpenTelemetry traces of a job, with an in-memory exporter: the producer's send span and every attempt's
// process span in one trace, the process span a child of and linked to the job's creation context, in
// this process and in a real worker process. The first test runs before any SDK is registered.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, UnrecoverableError, Worker, type Job } from 'sluice';
import { TRACE_CONTEXT_KEY } from '../../src/options.js';
import { readLengthPrefixed } from '../../src/redis/packed.js';
import { decode } from '../../src/serializer.js';
import { runCommand, runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

/** Just enough of a context manager for a handler's spans to find the process span as their parent. */
class AsyncContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

async function storedOptions(queue: Queue, id: string): Promise<Record<string, unknown>> {
  const stored = await queue.store.getJob(id);
  return decode<Record<string, unknown>>(stored?.opts) ?? {};
}

describe('with no OpenTelemetry SDK', () => {
  it('add stores no trace context with the job', async () => {
    const name = uniqueQueue('untraced');
    const queue = new Queue(name, { connection: redis.connection });
    const job = await queue.add('plain', { n: 1 });
    expect(TRACE_CONTEXT_KEY in (await storedOptions(queue, job.id))).toBe(false);
    expect((await queue.getJob(job.id))?.traceContext).toBeUndefined();
    await queue.close();
  });
});

describe('with an SDK and an in-memory exporter', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncContextManager());
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name === name);
  const id = (span: ReadableSpan): string => span.spanContext().spanId;

  it("links a flow job's process span to the creation contexts of the jobs it waited for", async () => {
    const name = uniqueQueue('traced-flow');
    const queue = new Queue(name, { connection: redis.connection });
    const { jobs } = await queue.addFlow({
      jobs: [
        { key: 'B', name: 'b', data: 1 },
        { key: 'C', name: 'c', data: 2 },
        { key: 'D', name: 'd', data: 3, dependsOn: ['B', 'C'] },
      ],
    });
    expect('tl' in (await storedOptions(queue, jobs.D!.id))).toBe(true);
    expect('tl' in (await storedOptions(queue, jobs.B!.id))).toBe(false);
    expect('tl' in (await queue.getJob(jobs.D!.id))!.opts).toBe(false);
    const worker = new Worker(name, async (job) => job.name, { connection: redis.connection });
    await waitFor('the three process spans', () => spans(`process ${name}`).length === 3);
    await worker.close();
    await queue.close();

    // One create span per job of the flow (send's children), in the flow's order: B, C, D.
    const creates = spans(`create ${name}`);
    const byJob = new Map(creates.map((span) => [span.attributes['messaging.message.id'] as string, id(span)]));
    const d = spans(`process ${name}`).find((span) => span.attributes['messaging.message.id'] === jobs.D!.id);
    expect(d?.parentSpanContext?.spanId).toBe(byJob.get(jobs.D!.id));
    expect(d?.links.slice(0, 3).map((link) => link.context.spanId)).toEqual([byJob.get(jobs.D!.id), byJob.get(jobs.B!.id), byJob.get(jobs.C!.id)]);
    expect(d?.links.slice(1, 3).map((link) => link.attributes?.['sluice.link'])).toEqual(['dependency', 'dependency']);
    const b = spans(`process ${name}`).find((span) => span.attributes['messaging.message.id'] === jobs.B!.id);
    expect(b?.links).toHaveLength(1);
  });

  it("links a dependent's process span to the process spans of the jobs it waited for, recorded by their completes", async () => {
    const name = uniqueQueue('traced-diamond');
    const queue = new Queue(name, { connection: redis.connection });
    const plain = await queue.add('plain', 0);
    const { jobs } = await queue.addFlow({
      jobs: [
        { key: 'A', name: 'a', data: 1 },
        { key: 'B', name: 'b', data: 2, dependsOn: ['A'] },
        { key: 'C', name: 'c', data: 3, dependsOn: ['A'] },
        { key: 'D', name: 'd', data: 4, dependsOn: ['B', 'C'] },
      ],
    });
    // Only the jobs others wait for are marked to pass their process span's context on.
    const passes = async (id: string): Promise<boolean> => 'tp' in (await storedOptions(queue, id));
    expect(await Promise.all([plain.id, jobs.A!.id, jobs.B!.id, jobs.C!.id, jobs.D!.id].map(passes))).toEqual([false, true, true, true, false]);
    expect('tp' in (await queue.getJob(jobs.A!.id))!.opts).toBe(false);
    // D reads its dependencies' results past the contexts stored beside them.
    const results = async (job: Job): Promise<unknown> => Object.values(await job.getDependencies()).map((dep) => dep.returnvalue);
    const worker = new Worker(name, async (job) => (job.name === 'd' ? results(job) : job.name), { connection: redis.connection });
    await waitFor('the five process spans', () => spans(`process ${name}`).length === 5);
    await worker.close();
    expect(((await queue.getJob(jobs.D!.id))?.returnvalue as string[]).sort()).toEqual(['b', 'c']);

    const processOf = (id: string): ReadableSpan | undefined => spans(`process ${name}`).find((span) => span.attributes['messaging.message.id'] === id);
    const processLinks = (span: ReadableSpan | undefined): string[] =>
      (span?.links ?? []).filter((link) => link.attributes?.['sluice.link'] === 'dependency.process').map((link) => link.context.spanId);
    expect(processLinks(processOf(jobs.D!.id)).sort()).toEqual([id(processOf(jobs.B!.id)!), id(processOf(jobs.C!.id)!)].sort());
    expect(processLinks(processOf(jobs.B!.id))).toEqual([id(processOf(jobs.A!.id)!)]);
    expect(processLinks(processOf(jobs.C!.id))).toEqual([id(processOf(jobs.A!.id)!)]);
    // The creation links stay: D's own creation context, then B's and C's.
    expect(processOf(jobs.D!.id)?.links.filter((link) => link.attributes?.['sluice.link'] === 'dependency')).toHaveLength(2);
    // What the completes sent: a record part more for A, B and C, nothing for D or the plain job.
    const parts = async (id: string): Promise<number | undefined> => readLengthPrefixed((await queue.store.client.hgetBuffer(queue.store.keys.done, id)) ?? Buffer.alloc(0))?.length;
    expect(await Promise.all([plain.id, jobs.A!.id, jobs.B!.id, jobs.C!.id, jobs.D!.id].map(parts))).toEqual([14, 15, 15, 15, 14]);
    // The part more is not read back as anything of the job.
    const a = await queue.getJob(jobs.A!.id);
    expect([a?.state, a?.returnvalue, a?.processedBy]).toEqual(['completed', 'a', worker.consumer]);
    expect(processLinks(processOf(plain.id))).toEqual([]);
    await queue.close();
  });

  it("links a dependent that runs after a failed dependency ('ignore') to the failed attempt's process span", async () => {
    const name = uniqueQueue('traced-ignore');
    const queue = new Queue(name, { connection: redis.connection });
    const { jobs } = await queue.addFlow({
      jobs: [
        { key: 'A', name: 'a', data: 1, opts: { attempts: 1 } },
        { key: 'B', name: 'b', data: 2, dependsOn: ['A'], opts: { onDependencyFailure: 'ignore' } },
      ],
    });
    const worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'a') throw new Error('A broke');
        return 'b ran';
      },
      { connection: redis.connection },
    );
    await waitFor('both process spans', () => spans(`process ${name}`).length === 2);
    await worker.close();
    const processOf = (id: string): ReadableSpan | undefined => spans(`process ${name}`).find((span) => span.attributes['messaging.message.id'] === id);
    const a = processOf(jobs.A!.id);
    const b = processOf(jobs.B!.id);
    const processLinks = (b?.links ?? []).filter((link) => link.attributes?.['sluice.link'] === 'dependency.process').map((link) => link.context.spanId);
    expect(processLinks).toEqual([id(a!)]);
    // The failed job keeps its own stack: the context travelled behind it and was taken off.
    const failed = await queue.getJob(jobs.A!.id);
    expect([failed?.state, failed?.failedReason]).toEqual(['failed', 'A broke']);
    expect(failed?.stacktrace).toContain('A broke');
    expect(failed?.stacktrace).not.toContain('\u0000');
    expect((await queue.getJob(jobs.B!.id))?.returnvalue).toBe('b ran');
    await queue.close();
  });

  it('puts the send span and the process span in one trace: child of, and linked to, the creation context', async () => {
    const name = uniqueQueue('traced');
    const queue = new Queue<{ to: string }, string>(name, { connection: redis.connection });
    const job = await queue.add('welcome', { to: 'ada@example.com' });
    expect(TRACE_CONTEXT_KEY in (await storedOptions(queue, job.id))).toBe(true);
    // The reserved key stays out of job.opts.
    expect(TRACE_CONTEXT_KEY in (await queue.getJob(job.id))!.opts).toBe(false);

    const worker = new Worker<{ to: string }, string>(
      name,
      async () => {
        trace.getTracer('app').startSpan('send email').end();
        return 'sent';
      },
      { connection: redis.connection },
    );
    await waitFor('the process span', () => spans(`process ${name}`).length === 1);
    await worker.close();
    await queue.close();

    const [send] = spans(`send ${name}`);
    const [processSpan] = spans(`process ${name}`);
    const [inner] = spans('send email');
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(send?.attributes).toMatchObject({
      'messaging.system': 'sluice',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': name,
      'messaging.message.id': job.id,
    });
    expect(processSpan?.kind).toBe(SpanKind.CONSUMER);
    expect(processSpan?.spanContext().traceId).toBe(send?.spanContext().traceId);
    expect(processSpan?.parentSpanContext?.spanId).toBe(id(send!));
    expect(processSpan?.links.map((link) => link.context.spanId)).toEqual([id(send!)]);
    expect(processSpan?.attributes).toMatchObject({
      'messaging.system': 'sluice',
      'messaging.operation.type': 'process',
      'messaging.destination.name': name,
      'messaging.message.id': job.id,
      'messaging.client.id': worker.consumer,
      'messaging.sluice.job.name': 'welcome',
      'messaging.sluice.job.attempt': 1,
      'messaging.sluice.job.outcome': 'completed',
    });
    expect(processSpan?.status.code).toBe(SpanStatusCode.UNSET);
    // A span the handler starts is a child of the process span.
    expect(inner?.parentSpanContext?.spanId).toBe(id(processSpan!));
    expect(inner?.spanContext().traceId).toBe(send?.spanContext().traceId);
  });

  it('makes one process span per attempt, retries and the delayed first run included, each under the same creation context', async () => {
    const name = uniqueQueue('traced-retry');
    const queue = new Queue(name, { connection: redis.connection });
    const job = await queue.add('flaky', {}, { delay: 50, attempts: 3, backoff: { type: 'fixed', delay: 20 } });
    const worker = new Worker(
      name,
      async (running) => {
        if (running.attemptsMade < 2) throw new Error(`attempt ${running.attemptsMade + 1} failed`);
        return 'ok';
      },
      { connection: redis.connection },
    );
    await waitFor('three process spans', () => spans(`process ${name}`).length === 3);
    await worker.close();
    await queue.close();

    const [send] = spans(`send ${name}`);
    const attempts = spans(`process ${name}`).sort(
      (a, b) => (a.attributes['messaging.sluice.job.attempt'] as number) - (b.attributes['messaging.sluice.job.attempt'] as number),
    );
    expect(attempts.map((span) => span.attributes['messaging.sluice.job.attempt'])).toEqual([1, 2, 3]);
    expect(attempts.map((span) => span.attributes['messaging.sluice.job.outcome'])).toEqual(['retried', 'retried', 'completed']);
    expect(attempts.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    for (const span of attempts) {
      expect(span.attributes['messaging.message.id']).toBe(job.id);
      expect(span.parentSpanContext?.spanId).toBe(id(send!));
      expect(span.links[0]?.context.spanId).toBe(id(send!));
    }
    // The failed attempts recorded their exception.
    const exception = attempts[0]?.events.find((event) => event.name === 'exception');
    expect(exception?.attributes?.['exception.message']).toBe('attempt 1 failed');
    expect(attempts[0]?.attributes['error.type']).toBe('Error');
  });

  it('records a failure for good: the exception, status ERROR, error.type the error code', async () => {
    const name = uniqueQueue('traced-fail');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.add('doomed', {});
    const worker = new Worker(name, async () => {
      throw new UnrecoverableError('card declined');
    }, { connection: redis.connection });
    await waitFor('the process span', () => spans(`process ${name}`).length === 1);
    await worker.close();
    await queue.close();

    const [span] = spans(`process ${name}`);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'card declined' });
    expect(span?.attributes['error.type']).toBe('ERR_SLUICE_UNRECOVERABLE');
    expect(span?.attributes['messaging.sluice.job.outcome']).toBe('failed');
    const exception = span?.events.find((event) => event.name === 'exception');
    expect(exception?.attributes?.['exception.type']).toBe('ERR_SLUICE_UNRECOVERABLE');
    expect(exception?.attributes?.['exception.message']).toBe('card declined');
  });

  it('gives each job of a bulk its own create span under one send span, and each job continues its own', async () => {
    const name = uniqueQueue('traced-bulk');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    const jobs = await queue.addBulk([0, 1, 2].map((n) => ({ name: 'part', data: { n } })));
    const worker = new Worker(name, async () => 'ok', { connection: redis.connection, concurrency: 3 });
    await waitFor('three process spans', () => spans(`process ${name}`).length === 3);
    await worker.close();
    await queue.close();

    const [send] = spans(`send ${name}`);
    const creates = spans(`create ${name}`);
    expect(send?.kind).toBe(SpanKind.CLIENT);
    expect(send?.attributes['messaging.batch.message_count']).toBe(3);
    expect(creates).toHaveLength(3);
    expect(send?.links.map((link) => link.context.spanId).sort()).toEqual(creates.map(id).sort());
    for (const job of jobs) {
      const create = creates.find((span) => span.attributes['messaging.message.id'] === job.id);
      const processSpan = spans(`process ${name}`).find((span) => span.attributes['messaging.message.id'] === job.id);
      expect(create?.kind).toBe(SpanKind.PRODUCER);
      expect(create?.parentSpanContext?.spanId).toBe(id(send!));
      expect(processSpan?.parentSpanContext?.spanId).toBe(id(create!));
      expect(processSpan?.links[0]?.context.spanId).toBe(id(create!));
    }
  });

  it('continues the trace in a real worker process, across a retry', async () => {
    const name = uniqueQueue('traced-child');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    const count = 3;
    const jobs = [];
    for (let n = 0; n < count; n++) jobs.push(await queue.add('remote', { n }, { attempts: 2, backoff: { type: 'fixed', delay: 30 } }));
    await queue.close();

    const child = runFixture('traced-worker', { REDIS_URL: redis.url, QUEUE: name, COUNT: String(count) });
    expect(await child.exited).toBe(0);
    const remote = child.lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { name: string; kind: number; traceId: string; parentSpanId?: string; links: string[]; attributes: Record<string, unknown> });

    const sends = spans(`send ${name}`);
    expect(sends).toHaveLength(count);
    expect(remote).toHaveLength(2 * count);
    for (const job of jobs) {
      const send = sends.find((span) => span.attributes['messaging.message.id'] === job.id)!;
      const runs = remote.filter((span) => span.attributes['messaging.message.id'] === job.id);
      expect(runs.map((span) => span.attributes['messaging.sluice.job.attempt']).sort()).toEqual([1, 2]);
      for (const run of runs) {
        expect(run.name).toBe(`process ${name}`);
        expect(run.kind).toBe(SpanKind.CONSUMER);
        expect(run.traceId).toBe(send.spanContext().traceId);
        expect(run.parentSpanId).toBe(id(send));
        expect(run.links).toEqual([id(send)]);
      }
    }
  });
  it('sets the meta keys telemetryMeta names as process span attributes, and no others', async () => {
    const name = uniqueQueue('traced-meta');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.add('stamped', {}, { meta: { tenant: 'acme', seats: 3, email: 'ada@example.com' } });
    const worker = new Worker(name, async () => 'ok', { connection: redis.connection, telemetryMeta: ['tenant', 'seats'] });
    await waitFor('the process span', () => spans(`process ${name}`).length === 1);
    await worker.close();
    await queue.close();
    const attributes = spans(`process ${name}`)[0]?.attributes ?? {};
    expect(attributes).toMatchObject({ 'messaging.sluice.job.meta.tenant': 'acme', 'messaging.sluice.job.meta.seats': 3 });
    expect(Object.keys(attributes).filter((key) => key.startsWith('messaging.sluice.job.meta.')).sort()).toEqual([
      'messaging.sluice.job.meta.seats',
      'messaging.sluice.job.meta.tenant',
    ]);
  });
});

describe('examples/tracing.ts', () => {
  it('prints one trace: the app span, the send span, both attempts and the handler span', async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const { code, stdout, stderr } = await runCommand(process.execPath, [tsx, 'examples/tracing.ts'], {
      env: { ...process.env, REDIS_URL: redis.url, QUEUE: uniqueQueue('example') },
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32}$/);
    expect(lines.slice(1).map((line) => line.replace(/example-[0-9a-f]+/, 'Q'))).toEqual([
      '  checkout',
      '    send Q PRODUCER',
      '      process Q CONSUMER attempt 1, retried',
      '      process Q CONSUMER attempt 2, completed',
      '        render receipt',
    ]);
  });
});

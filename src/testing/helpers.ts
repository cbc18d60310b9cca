import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import type { Job } from '../job.js';
import { closeOpenHandles } from '../open-handles.js';
import type { Queue } from '../queue.js';
import type { JobState } from '../states.js';
import { Worker, type Processor, type WorkerOptions } from '../worker.js';

/**
 * Helpers users of sluice write again and again in their own tests, against a real Redis (startRedis).
 * They throw node:assert's AssertionError, which vitest, Jest and node:test all report as a failed
 * expectation.
 */

/** How long {@link waitUntilDrained} and {@link runJobs} wait, and whether for delayed jobs too. */
export interface WaitOptions {
  /**
   * How long to wait before failing with an AssertionError, in ms.
   *
   * @defaultValue `10000`
   */
  readonly timeoutMs?: number;
  /**
   * Also wait for delayed jobs to have run.
   *
   * @defaultValue `false`: delayed jobs may stay
   */
  readonly delayed?: boolean;
}

/**
 * Resolves once the queue has no waiting, active (and with `delayed`, delayed) job; polls getCounts every 20 ms.
 *
 * @param queue - The queue to watch.
 * @param options - How long to wait, and whether delayed jobs count.
 * @throws AssertionError after `timeoutMs`, with the counts (and whether the queue is paused).
 */
export async function waitUntilDrained(queue: Queue<unknown, unknown>, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getCounts();
    const left = counts.waiting + counts.active + counts.paused + (options.delayed === true ? counts.delayed : 0);
    if (left === 0) return;
    if (Date.now() > deadline) {
      throw new AssertionError({
        message: `queue '${queue.name}' was not drained within ${timeoutMs} ms: ${JSON.stringify(counts)}` +
          (counts.paused > 0 ? ' (it is paused)' : ''),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What a job's data must be: a predicate, or a value every field of which the data has, deeply (a subset match). */
export type DataMatcher<Data> = ((data: Data) => boolean) | Partial<Data> | Data;

function matches(data: unknown, matcher: unknown): boolean {
  if (typeof matcher === 'function') return (matcher as (value: unknown) => boolean)(data) === true;
  if (typeof matcher !== 'object' || matcher === null || Array.isArray(matcher)) return isDeepStrictEqual(data, matcher);
  if (typeof data !== 'object' || data === null) return false;
  return Object.entries(matcher).every(([key, value]) => matches((data as Record<string, unknown>)[key], value));
}

/** The states a job can be in after an add, newest-looked-at first. */
const ADDED_STATES: readonly JobState[] = ['waiting', 'delayed', 'active', 'completed', 'failed'];

/**
 * For producer tests: the job named `name` whose data matches `match` (omitted: any), in any state, among
 * the queue's newest 1,000 per state. Throws an AssertionError that lists what the queue holds otherwise.
 */
export async function expectAdded<Data, Result>(
  queue: Queue<Data, Result>,
  name: string,
  match?: DataMatcher<Data>,
): Promise<Job<Data, Result>> {
  const seen: string[] = [];
  for (const state of ADDED_STATES) {
    for (const job of await queue.getJobs(state, 0, 999)) {
      if (job.name === name && (match === undefined || matches(job.data, match))) return job;
      if (seen.length < 20) seen.push(`${job.name} (${state}) ${JSON.stringify(job.data)?.slice(0, 200)}`);
    }
  }
  throw new AssertionError({
    message: `no job '${name}'${match === undefined ? '' : ' with matching data'} in queue '${queue.name}'; it holds ${seen.length === 0 ? 'no jobs' : `:\n  ${seen.join('\n  ')}`}`,
  });
}

/** What runJobs ran: each job's result or its last failure reason, by job id. */
export interface RunResults<Result> {
  /** The jobs that completed, by id, with what the processor returned. */
  readonly completed: Map<string, Result>;
  /** The jobs that failed for good, by id, with their last failure's message. */
  readonly failed: Map<string, string>;
}

/**
 * Runs the queue's jobs through `processor` in a Worker of this process until nothing is waiting or active
 * and every job it ran has completed or failed for good (a retry is waited for, at its backoff: give test
 * jobs a short one), then closes the worker. Jobs delayed by their own `delay` are left alone unless
 * `delayed` is set. `worker` options pass on to the Worker (connection is required; use the queue's).
 */
export async function runJobs<Data, Result>(
  queue: Queue<Data, Result>,
  processor: Processor<Data, Result>,
  worker: WorkerOptions & WaitOptions,
): Promise<RunResults<Result>> {
  const completed = new Map<string, Result>();
  const failed = new Map<string, string>();
  const retrying = new Set<string>();
  // Started and not settled as this process sees it: a settle is in Redis' counts before its event reaches
  // the listeners here, so the counts alone could end the run between a failure and its retry.
  const started = new Set<string>();
  const { timeoutMs = 10_000, delayed, ...options } = worker;
  const running = new Worker<Data, Result>(queue.name, processor, options);
  running.on('active', (job) => void started.add(job.id));
  running.on('rateLimited', (job) => void started.delete(job.id));
  running.on('completed', (job, result) => {
    started.delete(job.id);
    retrying.delete(job.id);
    completed.set(job.id, result);
  });
  running.on('failed', (job, error) => {
    started.delete(job.id);
    retrying.delete(job.id);
    failed.set(job.id, error.message);
  });
  running.on('retrying', (job) => {
    started.delete(job.id);
    retrying.add(job.id);
  });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await queue.getCounts();
      if (counts.waiting + counts.active + (delayed === true ? counts.delayed : 0) === 0 && started.size === 0 && retrying.size === 0) break;
      if (Date.now() > deadline) {
        throw new AssertionError({
          message: `runJobs: queue '${queue.name}' was not done within ${timeoutMs} ms: ${JSON.stringify(counts)}` +
            (retrying.size > 0 ? `, retries pending for ${[...retrying].join(', ')}` : '') + (counts.paused > 0 ? ' (it is paused)' : ''),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await running.close();
  }
  return { completed, failed };
}

/**
 * Closes every Queue, Worker and QueueEvents still open, and fails when there was one: call it in an
 * afterEach hook (a worker left open keeps taking jobs into the next test). Returns nothing when all were
 * closed already.
 */
export async function expectAllClosed(): Promise<void> {
  const left = await closeOpenHandles();
  if (left.length > 0) throw new AssertionError({ message: `left open (now closed): ${left.join(', ')}; close every Queue, Worker and QueueEvents a test creates` });
}

import type { Job } from '../job.js';
import type { FiredTick } from '../schedules/runner.js';

// What a Worker promises its handler (the processor and its ctx) and its listeners (the events). The
// events are the worker-side lifecycle hooks: `completed`, `failed` (for good) and `retrying` run in the
// worker process once Redis accepted the settle, with the job as the settle left it.

/**
 * The second argument of a {@link Processor}: what a handler may use besides its job.
 */
export interface ProcessorContext {
  /**
   * Aborts when the attempt times out, when the lease was lost (another worker now owns the job), when a
   * person cancelled the job (its reason a JobCancelledError), or when the worker was closed with force
   * (ClosedError).
   */
  signal: AbortSignal;
  /**
   * The downstream said "slow down": throws a RateLimitError, so the job goes back to waiting without
   * using an attempt and its group (or the queue) starts nothing for `ms`. Same as throwing it yourself.
   */
  rateLimit(ms: number): never;
  /**
   * Runs `call` through this worker process' outbound limiter (the Worker option `outbound`): calls from
   * all of the process' running jobs are spaced and capped together. Without the option it just calls.
   */
  throttle<T>(call: () => PromiseLike<T>): Promise<T>;
}

/**
 * A job handler: runs one attempt of a job and resolves with its result, which is stored as the job's
 * `returnvalue` (at most `maxPayloadBytes` encoded). A rejection fails the attempt: the job is retried per
 * its `attempts` and `backoff`, or fails for good. Throw {@link UnrecoverableError} to fail it at once and
 * {@link RateLimitError} (or call `ctx.rateLimit`) to put it back without using an attempt.
 *
 * @typeParam Data - The type of the jobs' data.
 * @typeParam Result - The type of what it returns.
 */
export type Processor<Data, Result> = (job: Job<Data, Result>, ctx: ProcessorContext) => Promise<Result>;

/**
 * A Worker's events and their arguments: `worker.on('completed', (job, result) => ...)`. The job the
 * settle events (`completed`, `failed`, `retrying`, `rateLimited`) carry is the job as the settle left it,
 * as `queue.getJob(id)` would read it then. These are the worker's lifecycle hooks: they run in the worker
 * process, after the middleware returned. A listener that throws, or an async one that rejects, is
 * reported on `error`, never thrown into the worker.
 */
export interface WorkerEventMap<Data, Result> {
  /** A run of the job starts (its handler is about to be called). */
  active: [job: Job<Data, Result>];
  /** Redis accepted the job's completion; `result` is what the handler returned. */
  completed: [job: Job<Data, Result>, result: Result];
  /** The job failed for good: no attempts left, or UnrecoverableError. */
  failed: [job: Job<Data, Result>, error: Error];
  /** An attempt failed and the job will run again after `delay` ms. */
  retrying: [job: Job<Data, Result>, error: Error, delay: number];
  /** The handler threw RateLimitError: the job waits again, its group (or the queue) held for `holdMs`. */
  rateLimited: [job: Job<Data, Result>, holdMs: number];
  /** This worker fired a schedule's tick: the tick's job was enqueued. */
  scheduleFired: [fired: FiredTick];
  /**
   * Something went wrong outside a handler: a rejected settle (LeaseLostError), a Redis error, a config
   * mismatch, a listener of another event that threw. Without a listener it goes to the `logger` option
   * at level error, or, without one, becomes a process warning.
   */
  error: [error: Error];
  /** `close()` finished: nothing of this worker runs any more. */
  closed: [];
}

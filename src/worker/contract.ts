import type { Job } from '../job.js';
import type { FiredTick } from '../schedules/runner.js';

/**
 * What a Worker promises its handler (the processor and its ctx) and its listeners (the events). The
 * events are the worker-side lifecycle hooks: `completed`, `failed` (for good) and `retrying` run in the
 * worker process once Redis accepted the settle, with the job as the settle left it; an async listener's
 * rejection is reported on `error`, as a throwing listener is.
 */

export interface ProcessorContext {
  /** Aborts when the attempt times out, or when the lease was lost (another worker now owns the job). */
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

export type Processor<Data, Result> = (job: Job<Data, Result>, ctx: ProcessorContext) => Promise<Result>;

export interface WorkerEventMap<Data, Result> {
  active: [job: Job<Data, Result>];
  completed: [job: Job<Data, Result>, result: Result];
  /** The job failed for good: no attempts left, or UnrecoverableError. */
  failed: [job: Job<Data, Result>, error: Error];
  /** An attempt failed and the job will run again after `delay` ms. */
  retrying: [job: Job<Data, Result>, error: Error, delay: number];
  /** The handler threw RateLimitError: the job waits again, its group (or the queue) held for `holdMs`. */
  rateLimited: [job: Job<Data, Result>, holdMs: number];
  /** This worker fired a schedule's tick: the tick's job was enqueued. */
  scheduleFired: [fired: FiredTick];
  error: [error: Error];
  closed: [];
}

import type { BackoffStrategy } from '../backoff.js';
import { ValidationError } from '../errors.js';
import { assertDuration, assertInteger } from '../options.js';
import type { QueueOptions } from '../queue-settings.js';
import type { OutboundLimit } from './outbound.js';
import type { SandboxOptions } from './sandbox/pool.js';
import type { ChunkOptions } from './chunks.js';

/**
 * The options of a Worker and their validation, as queue-settings.ts is for a Queue: every setting is
 * checked once, in the constructor, before anything connects.
 */

/**
 * The options of a {@link Worker}: the queue settings it shares with the Queue (`connection`, `prefix`,
 * `priorityLevels`, `maxPayloadBytes`, `eventsMaxLen`, `keepLogs`, `redisConfig`, `logger`, as in
 * {@link QueueOptions}) and its own. Validated in the constructor, before anything connects (a bad one
 * throws {@link ValidationError}). Every duration is in ms, at most 2,147,483,647. `rateLimit` is accepted
 * but ignored by a Worker: set the queue-wide limit through a Queue.
 */
export interface WorkerOptions extends Omit<QueueOptions, 'defaultJobOptions' | 'commandTimeout' | 'offlineTimeout' | 'maxOfflineCalls' | 'durability' | 'context'> {
  /**
   * Jobs run at once by this worker, 1 to 100,000.
   *
   * @defaultValue `1`
   */
  concurrency?: number;
  /**
   * Most jobs taken per claim round trip, 1 to 1,000; a claim never takes more than the free slots.
   *
   * @defaultValue `min(concurrency, max(100, min(250, floor(concurrency / 4))))`: 64 at concurrency 64, 100
   * at 256, 250 at 1,000
   */
  prefetch?: number;
  /**
   * A job whose worker stopped extending its lease for this long (ms, at least 100) is taken back as
   * stalled and runs again.
   *
   * @defaultValue `30000`
   */
  stalledTimeout?: number;
  /**
   * Times a job may be taken back before it fails with reason 'stalled'; 0 fails it at its first stall.
   *
   * @defaultValue `1`
   */
  maxStalled?: number;
  /**
   * How often this worker sweeps for stalled jobs, in ms (at least 10).
   *
   * @defaultValue `floor(stalledTimeout / 2)`
   */
  stalledInterval?: number;
  /**
   * On a Redis Cluster, how long (ms, at least 100) a part of a flow across queues may wait for the rest of
   * its flow before this worker fails its waiting jobs: the producer stopped before writing the rest
   * (docs/guide/workflows.md). A producer writes a flow's parts within milliseconds; this bounds how long
   * the jobs of a flow cut short stay blocked. Checked once per `stalledInterval`.
   *
   * @defaultValue `60000`
   */
  flowPartTimeout?: number;
  /**
   * How often leases are extended, in ms (at least 10); must be shorter than `stalledTimeout`. On a
   * partitioned queue, also how often the queue-wide limit's shares are moved toward the load.
   *
   * @defaultValue `floor(stalledTimeout / 3)`
   */
  heartbeatInterval?: number;
  /**
   * Longest single blocking wait for new jobs (ms, at least 1); bounds how long a missed wake-up could last.
   *
   * @defaultValue `5000`
   */
  blockTimeout?: number;
  /**
   * Custom backoff strategies, by the name jobs give in `backoff.type`: `(retry, error, backoff) => ms`.
   *
   * @defaultValue `{}`: only 'exponential' and 'fixed'
   */
  backoffStrategies?: Record<string, BackoffStrategy>;
  /**
   * With `partitions`: the partitions this worker takes jobs from, by index (0 to partitions - 1). Its
   * concurrency is shared by them; it blocks on each and wakes on any.
   *
   * @defaultValue every partition of the queue
   */
  consumePartitions?: readonly number[];
  /**
   * Start processing at once; with false, call `worker.run()`.
   *
   * @defaultValue `true`
   */
  autorun?: boolean;
  /**
   * Start of this worker's consumer name in Redis (`<name>:<pid>:<random>`).
   *
   * @defaultValue the host name
   */
  name?: string;
  /**
   * In-process smoothing of the handlers' own calls, used through ctx.throttle (Bottleneck, local).
   *
   * @defaultValue none: `ctx.throttle` calls at once
   */
  outbound?: OutboundLimit;
  /**
   * Fire the queue's recurring schedules from this worker (any worker or Scheduler may; each tick still
   * enqueues once). Turn it off on most workers of a fleet of hundreds: each runner makes a small read
   * every 5 s and tries every tick.
   *
   * @defaultValue `true`
   */
  schedules?: boolean;
  /**
   * Also report the queue's depth (sluice_queue_jobs and the other gauges of `sluice metrics`) on the
   * global OpenTelemetry meter, read from Redis at each collection (one script call). Off by default: a
   * fleet needs it from one place, and the standalone exporter is the place that survives scaling to zero.
   *
   * @defaultValue `false`
   */
  queueMetrics?: boolean;
  /**
   * How a processor given as a file runs: in child processes (default) or worker threads, and their heap
   * limit. Ignored for a processor given as a function.
   *
   * @defaultValue `{}`: child processes with Node's default heap
   */
  sandbox?: SandboxOptions;
  /**
   * Only with a {@link ChunkProcessor}: see {@link ChunkWorkerOptions}. A per-job processor takes no chunks.
   *
   * @defaultValue none: the processor takes one job at a time
   */
  chunk?: undefined;
}

/**
 * The options of a Worker whose processor takes chunks of jobs: {@link WorkerOptions} and `chunk`.
 * `concurrency` (jobs out at once, in all its chunks) defaults to `chunk.size` and may not be smaller.
 */
export interface ChunkWorkerOptions extends Omit<WorkerOptions, 'chunk'> {
  /** How jobs are gathered into one call of the processor. */
  chunk: ChunkOptions;
}

/** Jobs one worker may run at once: 1 to 100,000 (README's Limits). */
export function assertConcurrency(what: string, value: unknown): number {
  return assertInteger(what, value, 1, 100_000);
}

/** A Worker's own settings, checked and with their defaults. */
export interface WorkerSettings {
  concurrency: number;
  prefetch: number;
  /** prefetch was given: it stays when concurrency changes (otherwise it follows it, defaultPrefetch). */
  prefetchGiven: boolean;
  stalledTimeout: number;
  maxStalled: number;
  stalledInterval: number;
  heartbeat: number;
  blockTimeout: number;
  flowPartTimeout: number;
}

export function workerSettings(options: WorkerOptions | ChunkWorkerOptions): WorkerSettings {
  const concurrency = assertConcurrency('concurrency', options.concurrency ?? 1);
  const prefetch = assertInteger('prefetch', options.prefetch ?? defaultPrefetch(concurrency), 1, 1000);
  const stalledTimeout = assertDuration('stalledTimeout', options.stalledTimeout ?? 30_000, 100);
  const maxStalled = assertInteger('maxStalled', options.maxStalled ?? 1, 0);
  const stalledInterval = assertDuration('stalledInterval', options.stalledInterval ?? Math.floor(stalledTimeout / 2), 10);
  const heartbeat = assertDuration('heartbeatInterval', options.heartbeatInterval ?? Math.floor(stalledTimeout / 3), 10);
  if (heartbeat >= stalledTimeout) {
    throw new ValidationError(`heartbeatInterval (${heartbeat} ms) must be shorter than stalledTimeout (${stalledTimeout} ms), or every long job would be taken back`);
  }
  const blockTimeout = assertDuration('blockTimeout', options.blockTimeout ?? 5000, 1);
  const flowPartTimeout = assertDuration('flowPartTimeout', options.flowPartTimeout ?? 60_000, 100);
  return { concurrency, prefetch, prefetchGiven: options.prefetch !== undefined, stalledTimeout, maxStalled, stalledInterval, heartbeat, blockTimeout, flowPartTimeout };
}

/**
 * Claims are one at a time, so at high concurrency the claim rate caps a worker: 100,000 jobs of 10 ms at
 * concurrency 1,000 took 3.1-3.2 s with 100 per claim and 2.8-2.9 s with 250 (one process, node on its own
 * core). At lower concurrency a batch smaller than all the slots keeps claims and settles overlapping: a
 * drain at concurrency 256 ran 43,000 jobs/s with 100 per claim and 34,000 with 250. Capped at 250 so one
 * claim holds Redis about a millisecond.
 */
export function defaultPrefetch(concurrency: number): number {
  return Math.min(concurrency, Math.max(100, Math.min(250, Math.floor(concurrency / 4))));
}

import type { BackoffStrategy } from '../backoff.js';
import { ValidationError } from '../errors.js';
import { assertDuration, assertInteger } from '../options.js';
import type { QueueOptions } from '../queue-settings.js';
import type { OutboundLimit } from './outbound.js';

/**
 * The options of a Worker and their validation, as queue-settings.ts is for a Queue: every setting is
 * checked once, in the constructor, before anything connects.
 */

export interface WorkerOptions extends Omit<QueueOptions, 'defaultJobOptions' | 'commandTimeout' | 'offlineTimeout' | 'maxOfflineCalls' | 'durability'> {
  /** Jobs run at once by this worker. Default 1. */
  concurrency?: number;
  /** Most jobs taken per claim round trip. Default min(concurrency, concurrency / 4 within 100 to 250). */
  prefetch?: number;
  /** A job whose worker stopped extending its lease for this long is taken back. Default 30,000 ms. */
  stalledTimeout?: number;
  /** Times a job may be taken back before it fails with reason 'stalled'. Default 1. */
  maxStalled?: number;
  /** How often this worker sweeps for stalled jobs. Default stalledTimeout / 2. */
  stalledInterval?: number;
  /** How often leases are extended. Default stalledTimeout / 3. */
  heartbeatInterval?: number;
  /** Longest single blocking wait for new jobs (ms); bounds how long a missed wake-up could last. Default 5,000. */
  blockTimeout?: number;
  /** Custom backoff strategies, by the name jobs give in `backoff.type`. */
  backoffStrategies?: Record<string, BackoffStrategy>;
  /**
   * With `partitions`: the partitions this worker takes jobs from, by index (0 to partitions - 1). Default:
   * all of them. Its concurrency is shared by them; it blocks on each and wakes on any.
   */
  consumePartitions?: readonly number[];
  /** Start processing at once. Default true; otherwise call run(). */
  autorun?: boolean;
  /** Start of this worker's consumer name in Redis (default: host name). */
  name?: string;
  /** In-process smoothing of the handlers' own calls, used through ctx.throttle (Bottleneck, local). */
  outbound?: OutboundLimit;
  /**
   * Fire the queue's recurring schedules from this worker (any worker or Scheduler may; each tick still
   * enqueues once). Default true. Turn it off on most workers of a fleet of hundreds: each runner makes a
   * small read every 5 s and tries every tick.
   */
  schedules?: boolean;
  /**
   * Also report the queue's depth (sluice_queue_jobs and the other gauges of `sluice metrics`) on the
   * global OpenTelemetry meter, read from Redis at each collection (one script call). Default false: a
   * fleet needs it from one place, and the standalone exporter is the place that survives scaling to zero.
   */
  queueMetrics?: boolean;
}

/** A Worker's own settings, checked and with their defaults. */
export interface WorkerSettings {
  concurrency: number;
  prefetch: number;
  stalledTimeout: number;
  maxStalled: number;
  stalledInterval: number;
  heartbeat: number;
  blockTimeout: number;
}

export function workerSettings(options: WorkerOptions): WorkerSettings {
  const concurrency = assertInteger('concurrency', options.concurrency ?? 1, 1, 100_000);
  const prefetch = assertInteger('prefetch', options.prefetch ?? defaultPrefetch(concurrency), 1, 1000);
  const stalledTimeout = assertDuration('stalledTimeout', options.stalledTimeout ?? 30_000, 100);
  const maxStalled = assertInteger('maxStalled', options.maxStalled ?? 1, 0);
  const stalledInterval = assertDuration('stalledInterval', options.stalledInterval ?? Math.floor(stalledTimeout / 2), 10);
  const heartbeat = assertDuration('heartbeatInterval', options.heartbeatInterval ?? Math.floor(stalledTimeout / 3), 10);
  if (heartbeat >= stalledTimeout) {
    throw new ValidationError(`heartbeatInterval (${heartbeat} ms) must be shorter than stalledTimeout (${stalledTimeout} ms), or every long job would be taken back`);
  }
  const blockTimeout = assertDuration('blockTimeout', options.blockTimeout ?? 5000, 1);
  return { concurrency, prefetch, stalledTimeout, maxStalled, stalledInterval, heartbeat, blockTimeout };
}

/**
 * Claims are one at a time, so at high concurrency the claim rate caps a worker: 100,000 jobs of 10 ms at
 * concurrency 1,000 took 3.1-3.2 s with 100 per claim and 2.8-2.9 s with 250 (one process, node on its own
 * core). At lower concurrency a batch smaller than all the slots keeps claims and settles overlapping: a
 * drain at concurrency 256 ran 43,000 jobs/s with 100 per claim and 34,000 with 250. Capped at 250 so one
 * claim holds Redis about a millisecond.
 */
function defaultPrefetch(concurrency: number): number {
  return Math.min(concurrency, Math.max(100, Math.min(250, Math.floor(concurrency / 4))));
}

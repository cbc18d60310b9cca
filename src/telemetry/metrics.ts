import { metrics, type Attributes, type Counter, type Histogram } from '@opentelemetry/api';
import { observeQueues } from '../metrics/instruments.js';
import type { QueueMetrics } from '../states.js';
import { SCOPE_NAME, SCOPE_VERSION } from './scope.js';
import type { JobOutcome } from './tracing.js';

/**
 * A worker's OpenTelemetry instruments. The application installs the SDK and an exporter; sluice only
 * records through @opentelemetry/api's meter, which is a no-op without an SDK.
 *
 * Names are Prometheus-style because most users scrape them: the 0.223 Prometheus exporter appends
 * `_total` to a counter and leaves the rest as given (it does not add unit suffixes), so these show up as
 * `sluice_jobs_processed_total{queue,status}` and `sluice_job_duration_seconds_bucket/_sum/_count
 * {queue,status}` (checked in test/unit/telemetry-metrics.test.ts).
 *
 * The meter is taken when the Worker is constructed: unlike the tracer, the metrics API has no proxy that
 * follows a provider registered later, so start the SDK before creating Workers.
 */

export const JOBS_PROCESSED = 'sluice_jobs_processed';
export const JOB_DURATION = 'sluice_job_duration_seconds';

/**
 * Seconds. The SDK's default boundaries (0, 5, 10, ... 10,000) assume milliseconds; jobs run from a few
 * milliseconds (an email hand-off) to minutes (a report), so 5 ms to 10 min, roughly x2.5 apart.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const OUTCOMES: readonly JobOutcome[] = ['completed', 'retried', 'failed', 'rate_limited'];

export class WorkerMetrics {
  readonly #processed: Counter;
  readonly #duration: Histogram;
  /** One frozen attribute set per outcome, built once: recording allocates nothing per job. */
  readonly #attributes: Record<JobOutcome, Attributes>;

  constructor(queue: string) {
    const meter = metrics.getMeter(SCOPE_NAME, SCOPE_VERSION);
    this.#processed = meter.createCounter(JOBS_PROCESSED, {
      description: 'Attempts settled by this worker, by status: completed, retried, failed (for good) or rate_limited',
      unit: '{job}',
    });
    this.#duration = meter.createHistogram(JOB_DURATION, {
      description: 'How long the handler ran, per attempt, by the status it settled with',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    const attributes = {} as Record<JobOutcome, Attributes>;
    for (const status of OUTCOMES) attributes[status] = Object.freeze({ queue, status });
    this.#attributes = attributes;
  }

  /** One settled attempt: counted, and its handler time (seconds) recorded. */
  record(outcome: JobOutcome, seconds: number): void {
    const attributes = this.#attributes[outcome];
    this.#processed.add(1, attributes);
    this.#duration.record(seconds, attributes);
  }
}

/**
 * The queue-depth instruments of the standalone exporter (sluice_queue_jobs and the rest), on the
 * application's global meter, for the Worker option `queueMetrics`. Each collection reads the queue once
 * (one metrics script call); returns the way to stop.
 */
export function observeQueueDepth(queue: string, read: () => Promise<QueueMetrics>): () => void {
  return observeQueues(metrics.getMeter(SCOPE_NAME, SCOPE_VERSION), async () => [{ queue, metrics: await read() }]);
}

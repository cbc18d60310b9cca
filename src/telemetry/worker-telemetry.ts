import type { Span } from '@opentelemetry/api';
import { shownMeta, type Logger } from './logger.js';
import { WorkerMetrics } from './metrics.js';
import { ConsumerSpans, type JobOutcome, type TracedJob } from './tracing.js';

export type { JobOutcome } from './tracing.js';

/** What the worker's telemetry needs of a job. */
export interface ObservedJob extends TracedJob {
  readonly queueName: string;
}

/**
 * Everything a Worker reports about one attempt, in two calls: `start` when the handler is about to run,
 * `finish` once the attempt settled (or failed to). The process span, the processed counter, the duration
 * histogram and the log lines all hang off these, so Worker#execute stays one readable function.
 *
 * Off costs: with no SDK and no logger, `start` is one no-op span and `finish` two no-op instrument calls
 * and an undefined check; no attribute object or log record is built.
 */
export class WorkerTelemetry {
  readonly #spans: ConsumerSpans;
  readonly #metrics: WorkerMetrics;
  readonly #logger: Logger | undefined;
  readonly #metaKeys: readonly string[];

  constructor(queue: string, consumer: string, logger: Logger | undefined, metaKeys: readonly string[]) {
    this.#spans = new ConsumerSpans(queue, consumer, metaKeys);
    this.#metaKeys = metaKeys;
    this.#metrics = new WorkerMetrics(queue);
    this.#logger = logger;
  }

  start(job: ObservedJob): Span {
    const span = this.#spans.start(job);
    if (this.#logger?.isLevelEnabled('debug') === true) this.#logger.debug(jobFields(job, job.attemptsMade + 1, span, this.#metaKeys), 'job started');
    return span;
  }

  /** Links `span` to the process spans of the jobs it waited for (tracing.ts ConsumerSpans.linkProcessed). */
  linkProcessed(span: Span, stored: readonly unknown[]): void {
    this.#spans.linkProcessed(span, stored);
  }

  /**
   * `outcome` undefined: the settle was refused (lease lost, job removed) or did not reach Redis; the
   * worker reported that on its `error` event, and the attempt is not counted, as no event was emitted.
   */
  finish(job: ObservedJob, span: Span, outcome: JobOutcome | undefined, seconds: number, error: Error | undefined): void {
    this.#spans.end(span, outcome, error);
    if (outcome === undefined) return;
    this.#metrics.record(outcome, seconds);
    const logger = this.#logger;
    if (logger === undefined) return;
    // A settle that counts an attempt (completed, retried, failed) has already added it to attemptsMade.
    const attempt = outcome === 'rate_limited' ? job.attemptsMade + 1 : job.attemptsMade;
    if (outcome === 'retried') logger.info({ ...jobFields(job, attempt, span, this.#metaKeys), err: error }, 'job attempt failed; it will be retried');
    else if (outcome === 'failed') logger.warn({ ...jobFields(job, attempt, span, this.#metaKeys), err: error }, 'job failed for good');
    else if (logger.isLevelEnabled('debug')) {
      logger.debug({ ...jobFields(job, attempt, span, this.#metaKeys), durationMs: Math.round(seconds * 1000) }, outcome === 'completed' ? 'job completed' : 'job rate limited');
    }
  }
}

/**
 * The fields job.logger binds (logger.ts), written out here because the worker's own lines are logged
 * after the settle changed attemptsMade, when a lazily made job.logger would bind the wrong attempt.
 */
function jobFields(job: ObservedJob, attempt: number, span: Span, metaKeys: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = { queue: job.queueName, jobId: job.id, jobName: job.name, attempt };
  const meta = shownMeta(job.meta, metaKeys);
  if (meta !== undefined) fields.meta = meta;
  if (span.isRecording()) {
    const { traceId, spanId } = span.spanContext();
    fields.trace_id = traceId;
    fields.span_id = spanId;
  }
  return fields;
}

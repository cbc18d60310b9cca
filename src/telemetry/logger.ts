import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

/**
 * Logging through pino. sluice logs only through a logger the application passes (the `logger` option of
 * Queue and Worker): without one it writes nothing of its own, as before this option existed (errors with
 * no `error` listener still become process warnings). With one it logs:
 *
 * - debug: a job started, completed, was rate limited; a Queue added jobs. These are the hot path, so they
 *   are skipped at pino's default level (info), and the check costs one `isLevelEnabled` per job.
 * - info: an attempt failed and will be retried. warn: a job failed for good. error: a worker error that
 *   no `error` listener took.
 *
 * Job data and return values are never logged: they may hold secrets, and pino's redaction would have to
 * know every field name. A failure is logged with its error (message and stack), which is the handler's
 * own text.
 */
export type { Logger } from 'pino';

let fallback: Logger | undefined;

/**
 * What `job.logger` derives from when no logger was passed: warn and above to stderr, so a handler's
 * `job.logger.warn(...)` is seen and its debug lines cost nothing. Created on first use only.
 */
function defaultLogger(): Logger {
  fallback ??= pino({ name: 'sluice', level: 'warn' }, pino.destination(2));
  return fallback;
}

export interface LoggedJob {
  readonly queueName: string;
  readonly id: string;
  readonly name: string;
  readonly attemptsMade: number;
  readonly meta: Readonly<Record<string, string | number | boolean>> | undefined;
}

/**
 * The keys of `meta` that `allowed` names (the `telemetryMeta` option), or undefined when none: meta may
 * hold user ids a team does not want in every log line and span, so only what the option names shows.
 */
export function shownMeta(meta: LoggedJob['meta'], allowed: readonly string[]): Record<string, string | number | boolean> | undefined {
  if (meta === undefined || allowed.length === 0) return undefined;
  let shown: Record<string, string | number | boolean> | undefined;
  for (const key of allowed) {
    const value = meta[key];
    if (value !== undefined && Object.hasOwn(meta, key)) (shown ??= {})[key] = value;
  }
  return shown;
}

/**
 * The child logger of one job: queue, jobId, jobName, attempt, the meta keys `metaKeys` names, and, inside
 * a traced handler, the trace and span ids of the running span, so log lines and the trace can be joined.
 */
export function jobLogger(base: Logger | undefined, job: LoggedJob, metaKeys: readonly string[]): Logger {
  // jobName, not name: pino prints a logger's own `name` option under that key, and JSON would get it twice.
  const bindings: Record<string, unknown> = { queue: job.queueName, jobId: job.id, jobName: job.name, attempt: job.attemptsMade + 1 };
  const meta = shownMeta(job.meta, metaKeys);
  if (meta !== undefined) bindings.meta = meta;
  const span = trace.getActiveSpan();
  if (span !== undefined && span.isRecording()) {
    const { traceId, spanId } = span.spanContext();
    bindings.trace_id = traceId;
    bindings.span_id = spanId;
  }
  return (base ?? defaultLogger()).child(bindings);
}

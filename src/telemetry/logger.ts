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
}

/**
 * The child logger of one job: queue, jobId, jobName, attempt, and, inside a traced handler, the trace and
 * span ids of the running span, so log lines and the trace can be joined.
 */
export function jobLogger(base: Logger | undefined, job: LoggedJob): Logger {
  // jobName, not name: pino prints a logger's own `name` option under that key, and JSON would get it twice.
  const bindings: Record<string, string | number> = { queue: job.queueName, jobId: job.id, jobName: job.name, attempt: job.attemptsMade + 1 };
  const span = trace.getActiveSpan();
  if (span !== undefined && span.isRecording()) {
    const { traceId, spanId } = span.spanContext();
    bindings.trace_id = traceId;
    bindings.span_id = spanId;
  }
  return (base ?? defaultLogger()).child(bindings);
}

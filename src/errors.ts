/**
 * Every error sluice throws is a SluiceError with a stable `code`. There is one subclass per failure a
 * caller handles differently; messages say what was wrong and what to do about it.
 */

export type SluiceErrorCode =
  | 'ERR_SLUICE_VALIDATION'
  | 'ERR_SLUICE_PAYLOAD_TOO_LARGE'
  | 'ERR_SLUICE_ENCODE'
  | 'ERR_SLUICE_JOB_NOT_FOUND'
  | 'ERR_SLUICE_JOB_ACTIVE'
  | 'ERR_SLUICE_LEASE_LOST'
  | 'ERR_SLUICE_CLOSED'
  | 'ERR_SLUICE_TIMEOUT'
  | 'ERR_SLUICE_JOB_FAILED'
  | 'ERR_SLUICE_CONFIG_MISMATCH'
  | 'ERR_SLUICE_SCRIPT'
  | 'ERR_SLUICE_UNRECOVERABLE'
  | 'ERR_SLUICE_RATE_LIMIT'
  | 'ERR_SLUICE_REDIS_CONFIG'
  | 'ERR_SLUICE_REDIS_UNAVAILABLE'
  | 'ERR_SLUICE_REDIS_TIMEOUT'
  | 'ERR_SLUICE_REDIS_OOM'
  | 'ERR_SLUICE_REPLICATION'
  | 'ERR_SLUICE_BULK_PARTIAL'
  | 'ERR_SLUICE_BATCH_PARTIAL'
  | 'ERR_SLUICE_DECODE';

export class SluiceError extends Error {
  readonly code: SluiceErrorCode;

  constructor(code: SluiceErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option, a queue name, a job id or an argument was not acceptable. Nothing was written. */
export class ValidationError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_VALIDATION', message);
  }
}

/** The encoded job data (or return value) is larger than the queue's `maxPayloadBytes`. Nothing was written. */
export class PayloadTooLargeError extends SluiceError {
  readonly size: number;
  readonly limit: number;

  constructor(what: string, size: number, limit: number) {
    super(
      'ERR_SLUICE_PAYLOAD_TOO_LARGE',
      `${what} encodes to ${size} bytes, over the limit of ${limit} bytes; store large blobs elsewhere ` +
        `(object storage, a database) and put a reference in the job, or raise the queue option maxPayloadBytes`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** The value cannot be encoded with msgpack without losing parts of it. Nothing was written. */
export class EncodeError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_ENCODE', message, options);
  }
}

/**
 * Stored bytes are not msgpack sluice can read (written by another client, or corrupted). A worker fails
 * such a job for good with this message as its reason, without running it, and goes on with the others.
 */
export class DecodeError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_DECODE', message, options);
  }
}

export class JobNotFoundError extends SluiceError {
  readonly jobId: string;

  constructor(queue: string, jobId: string) {
    super(
      'ERR_SLUICE_JOB_NOT_FOUND',
      `job '${jobId}' does not exist in queue '${queue}' (it may have been removed by retention or by remove())`,
    );
    this.jobId = jobId;
  }
}

/** The operation would disturb a job that a worker is running right now. */
export class JobActiveError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_JOB_ACTIVE', message);
  }
}

/**
 * A worker tried to settle a job it no longer owns: its lease ran out (the job was reclaimed as stalled and
 * handed to another worker) or the job was removed. The settle was rejected and not counted.
 */
export class LeaseLostError extends SluiceError {
  readonly jobId: string;

  constructor(jobId: string, reason: string) {
    super('ERR_SLUICE_LEASE_LOST', `job '${jobId}': ${reason}; this worker's result was discarded`);
    this.jobId = jobId;
  }
}

/** The Queue, Worker or QueueEvents was closed; create a new one. */
export class ClosedError extends SluiceError {
  constructor(what: string) {
    super('ERR_SLUICE_CLOSED', `${what} is closed; create a new instance to keep working`);
  }
}

/** A job ran past its `timeout`, or waitUntilFinished ran past its timeout. */
export class TimeoutError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_TIMEOUT', message);
  }
}

/** waitUntilFinished: the job ended in `failed`. */
export class JobFailedError extends SluiceError {
  readonly jobId: string;
  readonly failedReason: string;

  constructor(jobId: string, failedReason: string) {
    super('ERR_SLUICE_JOB_FAILED', `job '${jobId}' failed: ${failedReason}`);
    this.jobId = jobId;
    this.failedReason = failedReason;
  }
}

/** The queue in Redis was created with settings this instance contradicts (for example priorityLevels). */
export class ConfigMismatchError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_CONFIG_MISMATCH', message);
  }
}

/** Redis is set up in a way that can lose jobs (eviction, no persistence), and redisConfig is 'error'. */
export class RedisConfigError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_REDIS_CONFIG', message);
  }
}

/**
 * Redis could not be reached: the connection was down and did not come back within the queue's
 * `offlineTimeout`, or too many calls were already waiting for it (`maxOfflineCalls`). The command was never
 * sent, so nothing was written: retrying is safe.
 */
export class RedisUnavailableError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_REDIS_UNAVAILABLE', message, options);
  }
}

/**
 * The command was sent but Redis did not answer within `commandTimeout` (a frozen or overloaded server, a
 * network partition). Whether it ran is unknown: it may still run when Redis resumes. Retry an add with
 * the same jobId, which is deduplicated, or check with getJob().
 */
export class RedisTimeoutError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_REDIS_TIMEOUT', message, options);
  }
}

/**
 * Redis refused a write because it reached `maxmemory` (policy noeviction). Scripts are refused before they
 * start, so nothing was written. Free memory (remove old jobs, lower retention, raise maxmemory) and retry.
 */
export class RedisOutOfMemoryError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_REDIS_OOM', message, options);
  }
}

/**
 * The write succeeded on the primary, but fewer replicas than `durability.replicas` confirmed it within
 * `durability.timeoutMs`. The job exists and will run; it could be lost if the primary failed right now.
 */
export class ReplicationError extends SluiceError {
  readonly acknowledged: number;
  readonly required: number;

  constructor(acknowledged: number, required: number, timeoutMs: number) {
    super(
      'ERR_SLUICE_REPLICATION',
      `the write reached the primary but only ${acknowledged} of ${required} replicas confirmed it within ` +
        `${timeoutMs} ms; the job exists and will run, but a failover now could lose it. Check the replicas ` +
        `(INFO replication), or lower durability.replicas`,
    );
    this.acknowledged = acknowledged;
    this.required = required;
  }
}

/**
 * addBulk wrote some of its chunks and not others (Redis failed in between). `added` holds the jobs that
 * were written, in input order, and `failed` the input indexes that were not, each with its error: retry
 * exactly those.
 */
export class BulkAddError<J = unknown> extends SluiceError {
  readonly added: readonly J[];
  readonly failed: readonly { index: number; error: Error }[];

  constructor(added: readonly J[], failed: readonly { index: number; error: Error }[], total: number) {
    const first = failed[0]?.error.message ?? 'unknown';
    super(
      'ERR_SLUICE_BULK_PARTIAL',
      `addBulk wrote ${added.length} of ${total} jobs; ${failed.length} were not written (first error: ${first}). ` +
        `error.added holds the written jobs and error.failed the indexes to retry`,
      { cause: failed[0]?.error },
    );
    this.added = added;
    this.failed = failed;
  }
}

/**
 * addBatch opened its batch and wrote some of its members, then Redis failed (a call timed out, Redis ran
 * out of memory): the batch is left open, not sealed, so its callbacks cannot fire on a part. `failed` holds
 * the input indexes that were not written: add exactly those with `queue.batch(batchId).addBulk()`, then
 * `seal()` it.
 */
export class BatchIncompleteError extends SluiceError {
  readonly batchId: string;
  readonly added: number;
  readonly failed: readonly { index: number; error: Error }[];

  constructor(batchId: string, added: number, failed: readonly { index: number; error: Error }[], total: number) {
    const first = failed[0]?.error.message ?? 'unknown';
    super(
      'ERR_SLUICE_BATCH_PARTIAL',
      `addBatch wrote ${added} of ${total} members of batch '${batchId}' and left it open (not sealed); ${failed.length} were not ` +
        `written (first error: ${first}). Add the indexes in error.failed with queue.batch('${batchId}').addBulk(), then seal() it`,
      { cause: failed[0]?.error },
    );
    this.batchId = batchId;
    this.added = added;
    this.failed = failed;
  }
}

/** A Lua script returned something sluice does not understand: a bug, please report it. */
export class ScriptError extends SluiceError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_SCRIPT', message, options);
  }
}

/** Thrown by a handler: fail the job now, without using its remaining attempts. */
export class UnrecoverableError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_UNRECOVERABLE', message);
  }
}

/**
 * Thrown by a handler (or by ctx.rateLimit) when the downstream said "slow down": the job goes back to
 * waiting without using an attempt, and its group (or the whole queue, for a job without a group) starts
 * nothing for `retryAfterMs`.
 */
export class RateLimitError extends SluiceError {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, message?: string) {
    super('ERR_SLUICE_RATE_LIMIT', message ?? `rate limited by the downstream: hold for ${retryAfterMs} ms`);
    this.retryAfterMs = Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.ceil(retryAfterMs) : 0;
  }
}

export function isSluiceError(value: unknown): value is SluiceError {
  return value instanceof SluiceError;
}

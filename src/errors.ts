/**
 * Every error sluice throws is a SluiceError with a stable `code`. There is one subclass per failure a
 * caller handles differently; messages say what was wrong and what to do about it.
 */

/**
 * The stable `code` of every {@link SluiceError}, one per subclass: branch on `error.code` rather than on
 * messages, which may be reworded.
 */
export type SluiceErrorCode =
  | 'ERR_SLUICE_VALIDATION'
  | 'ERR_SLUICE_PAYLOAD_TOO_LARGE'
  | 'ERR_SLUICE_ENCODE'
  | 'ERR_SLUICE_JOB_NOT_FOUND'
  | 'ERR_SLUICE_QUEUE_NOT_FOUND'
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
  | 'ERR_SLUICE_DECODE'
  | 'ERR_SLUICE_BATCH_PARTIAL'
  | 'ERR_SLUICE_FLOW_PARTIAL'
  | 'ERR_SLUICE_SANDBOX'
  | 'ERR_SLUICE_JOB_STATE'
  | 'ERR_SLUICE_JOB_CANCELLED'
  | 'ERR_SLUICE_PARTITIONED';

/**
 * The base of every error sluice throws. Catch it (or test with {@link isSluiceError}) to tell sluice's
 * failures from others, then branch on `code` or on the subclass: there is one subclass per failure a
 * caller handles differently. `name` is the subclass' name, `message` says what was wrong and what to do,
 * and `cause`, when set, is the underlying error (the ioredis or msgpackr one).
 */
export class SluiceError extends Error {
  /**
   * Stable machine-readable code, `ERR_SLUICE_*`: one per subclass (listed in {@link SluiceErrorCode}),
   * kept when a message is reworded. Every subclass sets its own and documents it.
   */
  readonly code: SluiceErrorCode;

  /**
   * Used by the subclasses; sluice throws only subclasses.
   *
   * @param code - The subclass' code.
   * @param message - What was wrong and what to do about it.
   * @param options - `cause`: the underlying error, if any.
   */
  constructor(code: SluiceErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * An option, a queue name, a job id or an argument was not acceptable. Nothing was written. Code
 * `ERR_SLUICE_VALIDATION`.
 */
export class ValidationError extends SluiceError {
  /**
   * Thrown by sluice before anything is sent; construct one yourself only to fake a refusal in a test.
   *
   * @param message - What was wrong: the option or argument, the value given and what is allowed.
   */
  constructor(message: string) {
    super('ERR_SLUICE_VALIDATION', message);
  }
}

/**
 * The encoded job data (or return value) is larger than the queue's `maxPayloadBytes`. Nothing was written.
 * Code `ERR_SLUICE_PAYLOAD_TOO_LARGE`.
 */
export class PayloadTooLargeError extends SluiceError {
  /** Size of the value once encoded with msgpack, in bytes. */
  readonly size: number;
  /** The limit it went over: the queue's (or worker's) `maxPayloadBytes`, in bytes. */
  readonly limit: number;

  /**
   * The message names the value, both sizes and the two ways out (store a reference, or raise the limit).
   *
   * @param what - The value, as the message names it: 'job data', 'progress', 'return value'...
   * @param size - Encoded size in bytes.
   * @param limit - `maxPayloadBytes` in bytes.
   */
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

/**
 * The value cannot be encoded with msgpack without losing parts of it (a function, a symbol, nesting
 * deeper than 64 levels, a `__proto__` key). Nothing was written. Code `ERR_SLUICE_ENCODE`.
 */
export class EncodeError extends SluiceError {
  /**
   * Thrown by sluice's encoder when a value is refused.
   *
   * @param message - Where in the value the problem is (a path such as `job data.user.cb`) and why.
   * @param options - `cause`: msgpackr's own error, when it threw.
   */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_ENCODE', message, options);
  }
}

/**
 * Stored bytes are not msgpack sluice can read (written by another client, or corrupted). A worker fails
 * such a job for good with this message as its reason, without running it, and goes on with the others.
 * Code `ERR_SLUICE_DECODE`.
 */
export class DecodeError extends SluiceError {
  /**
   * Thrown by sluice when it reads bytes or fields it cannot use.
   *
   * @param message - Which job or value, and what is wrong with it.
   * @param options - `cause`: msgpackr's own error, when it threw.
   */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_DECODE', message, options);
  }
}

/**
 * The job does not exist: never added, removed, or deleted by retention (`removeOnComplete`,
 * `removeOnFail`). Thrown by the Job methods that change a job (updateProgress, log, retry, remove),
 * by `Queue.promoteJob`, and by `Job.waitUntilFinished` when the job disappears before it finished. Code
 * `ERR_SLUICE_JOB_NOT_FOUND`.
 */
export class JobNotFoundError extends SluiceError {
  /** The id that was not found. */
  readonly jobId: string;

  /**
   * Thrown by sluice when Redis holds no such job.
   *
   * @param queue - The queue's name, for the message.
   * @param jobId - The id that was not found.
   */
  constructor(queue: string, jobId: string) {
    super(
      'ERR_SLUICE_JOB_NOT_FOUND',
      `job '${jobId}' does not exist in queue '${queue}' (it may have been removed by retention or by remove())`,
    );
    this.jobId = jobId;
  }
}

/**
 * An operator's tool (the `sluice` command) was asked about a queue that does not exist under the prefix:
 * never created, obliterated, or another prefix. It never creates one by asking. Code
 * `ERR_SLUICE_QUEUE_NOT_FOUND`; not exported: only the command throws it.
 */
export class QueueNotFoundError extends SluiceError {
  /** The queue asked for. */
  readonly queue: string;

  /**
   * @param queue - The queue asked for.
   * @param prefix - The prefix it was looked for under.
   */
  constructor(queue: string, prefix: string) {
    super('ERR_SLUICE_QUEUE_NOT_FOUND', `there is no queue '${queue}' under the prefix '${prefix}' (never used, obliterated, or under another --prefix; sluice queues lists them)`);
    this.queue = queue;
  }
}

/**
 * The operation would disturb a job that a worker is running right now: `job.remove()` on a running job,
 * or `queue.obliterate()` without `force` while jobs run. Code `ERR_SLUICE_JOB_ACTIVE`.
 */
export class JobActiveError extends SluiceError {
  /**
   * Thrown by sluice; nothing was changed.
   *
   * @param message - Which job or queue is busy, and what to do (wait, or pass `force`).
   */
  constructor(message: string) {
    super('ERR_SLUICE_JOB_ACTIVE', message);
  }
}

/**
 * The job is not in a state the operation applies to: changing the priority of a completed job, promoting
 * one that is not delayed, cancelling one that already ended. `state` is the state it was found in. Nothing
 * was changed. (A running job is refused with JobActiveError instead.)
 */
export class JobStateError extends SluiceError {
  /** The job the operation was refused for. */
  readonly jobId: string;
  /** The state the job was found in (`completed`, `failed`, `waiting`, ...). */
  readonly state: string;

  /**
   * Made by the job-changing methods when the job's state refuses the change.
   *
   * @param jobId - The job's id.
   * @param state - The state it was found in.
   * @param message - What was refused, and why.
   */
  constructor(jobId: string, state: string, message: string) {
    super('ERR_SLUICE_JOB_STATE', message);
    this.jobId = jobId;
    this.state = state;
  }
}

/**
 * The reason ctx.signal aborts with when a person cancelled the running job (queue.cancel, job.cancel). The
 * job is failed already, with `cancelled: <reason>`, and is not retried; whatever the handler returns or
 * throws afterwards is discarded, as for a lost lease.
 */
export class JobCancelledError extends SluiceError {
  /** The cancelled job. */
  readonly jobId: string;
  /** The reason the job was failed with: `cancelled` or `cancelled: <reason>`. */
  readonly failedReason: string;

  /**
   * Made by a Worker when it learns that a job it runs was cancelled.
   *
   * @param jobId - The job's id.
   * @param failedReason - The reason it was failed with.
   */
  constructor(jobId: string, failedReason: string) {
    super('ERR_SLUICE_JOB_CANCELLED', `job '${jobId}' was ${failedReason}; stop its work: its result will be discarded`);
    this.jobId = jobId;
    this.failedReason = failedReason;
  }
}

/**
 * A worker tried to settle a job it no longer owns: its lease ran out (the job was reclaimed as stalled and
 * handed to another worker) or the job was removed. The settle was rejected and not counted. Emitted on
 * the Worker's `error` event, and the abort reason of `ctx.signal` when a heartbeat finds the lease lost.
 * Code `ERR_SLUICE_LEASE_LOST`.
 */
export class LeaseLostError extends SluiceError {
  /** The job whose lease this worker lost. */
  readonly jobId: string;

  /**
   * Made by a Worker when Redis refuses its settle or its heartbeat.
   *
   * @param jobId - The job whose lease was lost.
   * @param reason - How it was lost: the lease ran out, or the job was removed.
   */
  constructor(jobId: string, reason: string) {
    super('ERR_SLUICE_LEASE_LOST', `job '${jobId}': ${reason}; this worker's result was discarded`);
    this.jobId = jobId;
  }
}

/**
 * The Queue, Worker or QueueEvents was closed; create a new one. Thrown by a method of a closed Queue and
 * by `waitUntilReady()` (so also `waitUntilFinished`) of a closed QueueEvents. Code `ERR_SLUICE_CLOSED`.
 */
export class ClosedError extends SluiceError {
  /**
   * Thrown by sluice when a closed instance is used.
   *
   * @param what - The instance, as the message names it: `Queue 'emails'`.
   */
  constructor(what: string) {
    super('ERR_SLUICE_CLOSED', `${what} is closed; create a new instance to keep working`);
  }
}

/**
 * A job's attempt ran past its `timeout` option (the attempt fails with it, and `ctx.signal` aborts with
 * it), or `Job.waitUntilFinished` ran past its `timeoutMs`. Code `ERR_SLUICE_TIMEOUT`.
 */
export class TimeoutError extends SluiceError {
  /**
   * Thrown by sluice when the time is up.
   *
   * @param message - Which job, and the timeout in ms.
   */
  constructor(message: string) {
    super('ERR_SLUICE_TIMEOUT', message);
  }
}

/**
 * `Job.waitUntilFinished`: the job failed for good (no attempts left, UnrecoverableError, or stalled too
 * often). Code `ERR_SLUICE_JOB_FAILED`.
 */
export class JobFailedError extends SluiceError {
  /** The job that failed. */
  readonly jobId: string;
  /** The job's `failedReason`: the message of the error its last attempt ended with. */
  readonly failedReason: string;

  /**
   * Made by `waitUntilFinished` when it sees the job's failure.
   *
   * @param jobId - The job that failed.
   * @param failedReason - Its failure reason, as stored.
   */
  constructor(jobId: string, failedReason: string) {
    super('ERR_SLUICE_JOB_FAILED', `job '${jobId}' failed: ${failedReason}`);
    this.jobId = jobId;
    this.failedReason = failedReason;
  }
}

/**
 * The queue in Redis was created with settings this instance contradicts (for example priorityLevels), or
 * by a sluice with another storage format. A Queue rejects its calls with it; a Worker reports it on
 * `error` and stops claiming. Code `ERR_SLUICE_CONFIG_MISMATCH`.
 */
export class ConfigMismatchError extends SluiceError {
  /**
   * Thrown by sluice when it first checks the queue in Redis.
   *
   * @param message - Which setting differs, both values, and what to do.
   */
  constructor(message: string) {
    super('ERR_SLUICE_CONFIG_MISMATCH', message);
  }
}

/**
 * Redis is set up in a way that can lose jobs (eviction, no persistence), or its settings cannot be read,
 * and the `redisConfig` option is 'error'. A Queue rejects its first call with it; a Worker reports it on
 * `error` and stops claiming. Code `ERR_SLUICE_REDIS_CONFIG`.
 */
export class RedisConfigError extends SluiceError {
  /**
   * Thrown by sluice's check of Redis' settings.
   *
   * @param message - The risk found (the setting and its value) and the setting that removes it.
   */
  constructor(message: string) {
    super('ERR_SLUICE_REDIS_CONFIG', message);
  }
}

/**
 * Redis could not be reached: the connection was down and did not come back within the queue's
 * `offlineTimeout`, or too many calls were already waiting for it (`maxOfflineCalls`). The command was never
 * sent, so nothing was written: retrying is safe. Code `ERR_SLUICE_REDIS_UNAVAILABLE`.
 */
export class RedisUnavailableError extends SluiceError {
  /**
   * Thrown by sluice when a call gives up waiting for a connection.
   *
   * @param message - Why Redis could not be reached.
   * @param options - `cause`: the connection's own error, when there is one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_REDIS_UNAVAILABLE', message, options);
  }
}

/**
 * The command was sent but Redis did not answer within `commandTimeout` (a frozen or overloaded server, a
 * network partition). Whether it ran is unknown: it may still run when Redis resumes. Retry an add with
 * the same jobId, which is deduplicated, or check with getJob(). Code `ERR_SLUICE_REDIS_TIMEOUT`.
 */
export class RedisTimeoutError extends SluiceError {
  /**
   * Thrown by sluice when `commandTimeout` passes without an answer.
   *
   * @param message - Which call timed out, after how many ms.
   * @param options - `cause`: ioredis' own timeout error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_REDIS_TIMEOUT', message, options);
  }
}

/**
 * Redis refused a write because it reached `maxmemory` (policy noeviction). Scripts are refused before they
 * start, so nothing was written. Free memory (remove old jobs, lower retention, raise maxmemory) and retry.
 * Code `ERR_SLUICE_REDIS_OOM`.
 */
export class RedisOutOfMemoryError extends SluiceError {
  /**
   * Thrown by sluice when Redis answers with its OOM error.
   *
   * @param message - What was refused, and how to free memory.
   * @param options - `cause`: Redis' own OOM reply error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_REDIS_OOM', message, options);
  }
}

/**
 * The write succeeded on the primary, but fewer replicas than `durability.replicas` confirmed it within
 * `durability.timeoutMs`. The job exists and will run; it could be lost if the primary failed right now.
 * Code `ERR_SLUICE_REPLICATION`.
 */
export class ReplicationError extends SluiceError {
  /** Replicas that confirmed the write within the timeout (Redis WAIT's answer). */
  readonly acknowledged: number;
  /** Replicas the Queue's `durability.replicas` asked for. */
  readonly required: number;

  /**
   * Thrown by add() and addBulk() when Redis WAIT returns fewer replicas than asked for.
   *
   * @param acknowledged - Replicas that confirmed the write.
   * @param required - Replicas asked for (`durability.replicas`).
   * @param timeoutMs - How long WAIT waited (`durability.timeoutMs`), in ms.
   */
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
 * exactly those. Its `cause` is the first of those errors. Code `ERR_SLUICE_BULK_PARTIAL`.
 *
 * @typeParam J - The type of the written jobs: `Job<Data, Result>` of the Queue that threw it.
 */
export class BulkAddError<J = unknown> extends SluiceError {
  /** The jobs that were written, in input order (without the failed indexes). */
  readonly added: readonly J[];
  /**
   * One entry per job that was not written, with why its chunk failed (a RedisTimeoutError,
   * RedisUnavailableError, ...): retry exactly those.
   */
  readonly failed: readonly {
    /** The job's position in the array given to addBulk. */
    index: number;
    /** Why its chunk was not written. */
    error: Error;
  }[];

  /**
   * Thrown by addBulk when some of its chunks were written and others were not.
   *
   * @param added - The written jobs, in input order.
   * @param failed - The input indexes not written, each with its error.
   * @param total - How many jobs the call was given.
   */
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
 * What was asked cannot be done on a partitioned queue (`partitions` > 1): a queue-wide rate limit whose
 * `max` is below the partition count, which cannot be split into a share of at least 1 per partition.
 * Nothing was written. Code `ERR_SLUICE_PARTITIONED`.
 */
export class PartitionedQueueError extends SluiceError {
  /**
   * Thrown by Queue's setRateLimit and its `rateLimit` option.
   *
   * @param message - What was refused, and what to do instead.
   */
  constructor(message: string) {
    super('ERR_SLUICE_PARTITIONED', message);
  }
}

/**
 * addBatch opened its batch and wrote some of its members, then Redis failed (a call timed out, Redis ran out
 * of memory): the batch is left open, not sealed, so its callbacks cannot fire on a part. Add exactly the
 * members in `failed` with `queue.batch(batchId).addBulk()`, then `seal()` it. Its `cause` is the first of
 * their errors. Code `ERR_SLUICE_BATCH_PARTIAL`.
 */
export class BatchIncompleteError extends SluiceError {
  /** The batch that was opened, and left open. */
  readonly batchId: string;
  /** How many members were written. */
  readonly added: number;
  /**
   * One entry per member that was not written, with why its call failed (a RedisTimeoutError,
   * RedisUnavailableError, ...): add exactly those.
   */
  readonly failed: readonly {
    /** The member's position in the array given to addBatch. */
    index: number;
    /** Why its call was not written. */
    error: Error;
  }[];

  /**
   * Thrown by addBatch when the batch was opened and some of its members were not written.
   *
   * @param batchId - The batch, left open.
   * @param added - How many members were written.
   * @param failed - The input indexes not written, each with its error.
   * @param total - How many members the call was given.
   */
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

/**
 * addFlow (or add with dependsOn) across queues on a Redis Cluster wrote some parts of the flow, one per
 * queue slot, and not the rest: Redis failed after the first part (a call timed out, a master was lost), or
 * the producer took longer than the workers' `flowPartTimeout` and a worker had already failed the jobs that
 * waited for the rest. The jobs of the parts written that wait for the parts not written are failed by a
 * worker of their queue after `flowPartTimeout` (or were already), and their dependents learn it by their
 * policy; nothing waits forever. Add the flow again (with new job ids) if it should run. Code
 * `ERR_SLUICE_FLOW_PARTIAL`.
 */
export class FlowIncompleteError extends SluiceError {
  /** The flow's id, as the reasons of its jobs failed for it name it. */
  readonly flowId: string;

  /**
   * Thrown by addFlow and add when a flow across Cluster slots was not written whole.
   *
   * @param flowId - The flow's id.
   * @param message - What was written and what was not.
   * @param cause - The Redis error that stopped it, if one did.
   */
  constructor(flowId: string, message: string, cause?: Error) {
    super('ERR_SLUICE_FLOW_PARTIAL', message, cause === undefined ? undefined : { cause });
    this.flowId = flowId;
  }
}

/**
 * A Lua script returned something sluice does not understand: a bug, please report it. Code
 * `ERR_SLUICE_SCRIPT`.
 */
export class ScriptError extends SluiceError {
  /**
   * Thrown by sluice when it reads a script's reply.
   *
   * @param message - The script and what it returned.
   * @param options - `cause`: the underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SLUICE_SCRIPT', message, options);
  }
}

/**
 * Thrown by a handler: fail the job now, without using its remaining attempts (a bad input that no retry
 * will fix). The job's `failedReason` is the message. Code `ERR_SLUICE_UNRECOVERABLE`.
 *
 * @example
 * ```ts
 * if (!user) throw new UnrecoverableError(`user ${job.data.userId} does not exist`);
 * ```
 */
export class UnrecoverableError extends SluiceError {
  /**
   * For your handler to throw.
   *
   * @param message - Why the job cannot succeed: it becomes the job's `failedReason`.
   */
  constructor(message: string) {
    super('ERR_SLUICE_UNRECOVERABLE', message);
  }
}

/**
 * Thrown by a handler (or by ctx.rateLimit) when the downstream said "slow down": the job goes back to
 * waiting without using an attempt, and its group (or the whole queue, for a job without a group) starts
 * nothing for `retryAfterMs`. The run still counts in `attemptsStarted`. Code `ERR_SLUICE_RATE_LIMIT`.
 *
 * @example
 * ```ts
 * if (response.status === 429) throw new RateLimitError(Number(response.headers.get('retry-after')) * 1000);
 * ```
 */
export class RateLimitError extends SluiceError {
  /**
   * How long the job's group (or the queue) starts nothing, in ms: the constructor's `retryAfterMs`
   * rounded up, 0 when it was not a positive number. A Worker caps the hold at 2,147,483,647 ms.
   */
  readonly retryAfterMs: number;

  /**
   * For your handler to throw (or call `ctx.rateLimit(ms)`, which throws one).
   *
   * @param retryAfterMs - How long to hold, in ms (a downstream's Retry-After, converted).
   * @param message - Defaults to one that names the hold.
   */
  constructor(retryAfterMs: number, message?: string) {
    super('ERR_SLUICE_RATE_LIMIT', message ?? `rate limited by the downstream: hold for ${retryAfterMs} ms`);
    this.retryAfterMs = Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? Math.ceil(retryAfterMs) : 0;
  }
}

/**
 * Whether `value` is an error thrown by sluice: a type guard, so `value.code` is typed afterwards.
 *
 * @param value - Anything caught.
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return value instanceof SluiceError;
}

/**
 * A sandboxed processor's runner (child process or worker thread) ended while it ran a job: a crash, a
 * heap past `sandbox.maxMemoryMb`, `process.exit` in the handler. The attempt fails with it and is retried
 * like any failure; a new runner takes the next job. Code `ERR_SLUICE_SANDBOX`.
 */
export class SandboxError extends SluiceError {
  /**
   * Made by the Worker when a runner ends while it runs a job.
   *
   * @param message - Which job, and how its runner ended (exit code, signal, out of memory).
   */
  constructor(message: string) {
    super('ERR_SLUICE_SANDBOX', message);
  }
}

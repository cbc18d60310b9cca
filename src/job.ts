import { cutUtf8, MAX_LOG_LINE_BYTES } from './bounds.js';
import { DecodeError, JobActiveError, JobFailedError, JobNotFoundError, TimeoutError, ValidationError } from './errors.js';
import { cancelJob, changeJobPriority, promoteJob, rescheduleJob, updateJobData } from './job-control.js';
import type { JobMeta } from './meta.js';
import { assertDuration, assertInteger, readStoredOptions, type StoredJobOptions } from './options.js';
import type { QueueEvents } from './queue-events.js';
import type { StoredJob } from './redis/job-fields.js';
import { Status } from './redis/status.js';
import type { QueueStore } from './redis/store.js';
import type { JobState } from './states.js';
import { decode, encode } from './serializer.js';
import { jobLogger, type Logger } from './telemetry/logger.js';
import { dependencyOutcomes, type DependencyOutcome } from './dependencies.js';

/** What a Job needs from the Queue or Worker that made it. */
export interface JobOwner {
  readonly queueName: string;
  readonly store: QueueStore;
  readonly maxPayloadBytes: number;
  /** Newest log lines kept per job; 0 keeps all. */
  readonly keepLogs: number;
  /** The logger passed to the Queue or Worker, if any; job.logger derives from it. */
  readonly logger: Logger | undefined;
  /** The meta keys job.logger binds (the `telemetryMeta` option); empty for none. */
  readonly telemetryMeta: readonly string[];
  /** A Worker's consumer name: the processedBy of the jobs it runs. */
  readonly consumer?: string;
}

/**
 * One job as last read from Redis. Fields are a snapshot: call `queue.getJob(id)` for a fresh one.
 * Inside a handler, `attemptsMade` counts the attempts that ended before this one (0 on the first run),
 * `attemptsStarted` every run started, this one and rate-limited ones included (what a handler bounds its
 * own runs by), and `stalledCounter` the runs that never settled: above 0, this may be a duplicate delivery.
 *
 * Jobs are made by sluice (`queue.add`, `queue.getJob`, a Worker's handler), not constructed by users.
 *
 * @typeParam Data - The type of the job's data.
 * @typeParam Result - The type of what its handler returns.
 */
export class Job<Data = unknown, Result = unknown> {
  /** The job's id: generated ('1', '2', ...) or the `jobId` it was added with. */
  readonly id: string;
  /** The job's name, as added. */
  readonly name: string;
  /** The job's data, as added (decoded), or as updateData last set it; undefined for a failed job whose stored data cannot be read. */
  data: Data;
  /** The job's options as stored, every default filled in; retention as `{ count, age }`, -1 for no limit. */
  readonly opts: StoredJobOptions;
  /** Priority level: 0 runs first. */
  priority: number;
  /**
   * Set on the Job an add() resolved with: true when that add created nothing, because a job held its
   * `dedupe` key (or its jobId): this is that job, as it is now (with debounce, carrying this add's data).
   *
   * @defaultValue `false`
   */
  deduplicated = false;
  /**
   * Attempts that ended with a result or an error. A run taken back as stalled counts only when the stall
   * failed the job; a run that threw RateLimitError does not count.
   */
  attemptsMade: number;
  /** Runs started, the current one included: failed, completed, rate-limited (RateLimitError) and stalled ones. */
  attemptsStarted: number;
  /**
   * Times the job was taken back from a worker that stopped responding (crashed, froze, lost its lease): an
   * earlier run started and never settled. Inside a handler, above 0 means this may be a repeat delivery.
   */
  readonly stalledCounter: number;
  /** The last value given to `updateProgress`, or undefined. */
  progress: unknown;
  /** The handler's result, once completed. */
  returnvalue: Result | undefined;
  /** The message of the latest failed attempt's error; it stays after a later successful attempt. */
  failedReason: string | undefined;
  /** The stack of the latest failed attempt. */
  stacktrace: string | undefined;
  /** When the job was added (ms since epoch, Redis' clock). */
  readonly timestamp: number;
  /** When the latest run started (ms since epoch, Redis' clock). */
  processedOn: number | undefined;
  /** When the job completed or failed for good (ms since epoch, Redis' clock). */
  finishedOn: number | undefined;
  #dueAt: number | undefined;
  #state: JobState;

  /** @internal the stream entry of the live delivery (the fencing token), when active. */
  readonly entry: string | undefined;
  /** @internal the stream of the live delivery (index into the queue's streams), when active. */
  readonly stream: number;
  /** The group the job belongs to, if any. */
  readonly group: string | undefined;
  /**
   * The consumer name of the worker running the job (active), or that ran its last attempt (completed,
   * failed for good); undefined otherwise, and for a job failed by the stalled sweep. It is the `id` of
   * `queue.getWorkers()`.
   */
  readonly processedBy: string | undefined;
  /**
   * @internal the creation context stored by the producer's span (telemetry/trace-context.ts), or
   * undefined when the job was added without an OpenTelemetry SDK. Not part of `opts` on purpose.
   */
  readonly traceContext: unknown;
  /**
   * @internal the creation contexts of the jobs this job depends on in its flow (src/flows.ts), which its
   * process span links to; undefined for most jobs.
   */
  readonly traceLinks: unknown;
  /**
   * @internal jobs of its traced flow wait for it: its complete records its process span's context for
   * their process spans to link to (options.ts TRACE_PASS_KEY). False for most jobs.
   */
  readonly passesTrace: boolean;
  readonly #owner: JobOwner;
  #logger: Logger | undefined;

  /** @internal Jobs are made by Queue and Worker, not by users. */
  constructor(owner: JobOwner, fields: {
    id: string;
    name: string;
    data: Data;
    opts: StoredJobOptions;
    priority: number;
    attemptsMade: number;
    attemptsStarted: number;
    stalledCounter?: number;
    timestamp: number;
    state: JobState;
    progress?: unknown;
    returnvalue?: Result;
    failedReason?: string;
    stacktrace?: string;
    processedOn?: number;
    finishedOn?: number;
    dueAt?: number;
    entry?: string;
    stream?: number;
    traceContext?: unknown;
    processedBy?: string;
    traceLinks?: unknown;
    passesTrace?: boolean;
  }) {
    this.#owner = owner;
    this.id = fields.id;
    this.name = fields.name;
    this.data = fields.data;
    this.opts = fields.opts;
    this.priority = fields.priority;
    this.attemptsMade = fields.attemptsMade;
    this.attemptsStarted = fields.attemptsStarted;
    this.stalledCounter = fields.stalledCounter ?? 0;
    this.timestamp = fields.timestamp;
    this.#state = fields.state;
    this.progress = fields.progress;
    this.returnvalue = fields.returnvalue;
    this.failedReason = fields.failedReason;
    this.stacktrace = fields.stacktrace;
    this.processedOn = fields.processedOn;
    this.finishedOn = fields.finishedOn;
    this.#dueAt = fields.dueAt;
    this.entry = fields.entry;
    this.stream = fields.stream ?? -1;
    this.group = fields.opts?.group;
    this.traceContext = fields.traceContext;
    this.processedBy = fields.processedBy;
    this.traceLinks = fields.traceLinks;
    this.passesTrace = fields.passesTrace === true;
  }

  /** The job's meta (the Queue's `context()` and the `meta` option), or undefined when it has none. */
  get meta(): JobMeta | undefined {
    return this.opts.meta;
  }

  /**
   * @internal The one place a Job is built from what Redis holds (src/redis/job-fields.ts). Throws
   * DecodeError when the stored job cannot be read: its fields (`stored.corrupt`), its options, or its data
   * (a failed job's data, which may be the very bytes it failed on, reads as undefined instead).
   */
  static fromStored<D, R>(owner: JobOwner, stored: StoredJob): Job<D, R> {
    const { id, state } = stored;
    if (stored.corrupt !== undefined) throw new DecodeError(`job '${id}' cannot be read: ${stored.corrupt}`);
    const { options, traceContext, traceLinks, passesTrace } = readableOptions(stored.opts, state, `job '${id}' options`);
    return new Job<D, R>(owner, {
      id,
      name: stored.name,
      data: readableData<D>(stored.data, state, `job '${id}' data`),
      opts: options,
      traceContext,
      traceLinks,
      passesTrace,
      priority: stored.priority,
      attemptsMade: stored.attemptsMade,
      attemptsStarted: stored.attemptsStarted,
      stalledCounter: stored.stalls,
      timestamp: stored.timestamp,
      state,
      progress: decode(stored.progress, `job '${id}' progress`),
      returnvalue: decode<R>(stored.returnvalue, `job '${id}' return value`),
      failedReason: stored.failedReason === '' ? undefined : stored.failedReason,
      stacktrace: stored.stacktrace === '' ? undefined : stored.stacktrace,
      processedOn: stored.processedOn,
      finishedOn: stored.finishedOn,
      dueAt: state === 'delayed' ? stored.dueAt : undefined,
      entry: state === 'active' ? stored.entry : undefined,
      stream: state === 'active' ? stored.stream : undefined,
      processedBy: stored.processedBy ?? (state === 'active' ? owner.consumer : undefined),
    });
  }

  /**
   * The state when this snapshot was read; in a Worker's `completed`, `failed`, `retrying` and `rateLimited`
   * listeners, the state the settle left the job in.
   */
  get state(): JobState {
    return this.#state;
  }

  /** When a delayed job is due (ms since epoch, Redis' clock), while it is delayed. */
  get dueAt(): number | undefined {
    return this.#dueAt;
  }

  /**
   * @internal The worker, once Redis accepted a settle: the job as that settle left it, for the event
   * listeners. `at` is Redis' time of the settle: finishedOn of a finished job, the start of a retry's delay.
   */
  settled(state: 'completed' | 'failed' | 'delayed' | 'waiting', at: number, delay = 0): void {
    this.#state = state;
    this.#dueAt = state === 'delayed' ? at + delay : undefined;
    if (state === 'completed' || state === 'failed') this.finishedOn = at;
  }

  /** The name of the queue the job belongs to. */
  get queueName(): string {
    return this.#owner.queueName;
  }

  /**
   * A pino child logger bound to this job (queue, jobId, jobName, attempt; inside a traced handler also
   * trace_id and span_id; the job's meta keys named by the `telemetryMeta` option, under `meta`), made on
   * first use. It derives from the Queue's or Worker's `logger` option, or,
   * without one, from a logger that writes warn and above to stderr. Job data is never bound to it.
   */
  get logger(): Logger {
    this.#logger ??= jobLogger(this.#owner.logger, this, this.#owner.telemetryMeta);
    return this.#logger;
  }

  /**
   * Records progress (any msgpack-encodable value) and emits a 'progress' event.
   *
   * @param progress - Any value msgpack can carry, at most `maxPayloadBytes` once encoded.
   * @throws {@link PayloadTooLargeError} or {@link EncodeError} for a value that cannot be stored;
   * {@link JobNotFoundError} when the job no longer exists.
   */
  async updateProgress(progress: unknown): Promise<void> {
    const encoded = encode(progress, 'progress', this.#owner.maxPayloadBytes);
    const status = await this.#owner.store.updateProgress(this.id, encoded);
    if (status === Status.JOB_MISSING) throw new JobNotFoundError(this.queueName, this.id);
    this.progress = progress;
  }

  /**
   * Appends a line to the job's log (the newest lines are kept, per the worker's keepLogs). A line is cut to
   * 16 KiB of UTF-8, or to maxPayloadBytes where that is lower, and the start of it is kept.
   *
   * @param line - The line to append.
   * @returns How many lines the log keeps now.
   * @throws {@link ValidationError} when `line` is not a string; {@link JobNotFoundError} when the job no
   * longer exists.
   */
  async log(line: string): Promise<number> {
    if (typeof line !== 'string') throw new ValidationError(`job.log takes a string, got ${typeof line}`);
    const stored = cutUtf8(line, Math.min(MAX_LOG_LINE_BYTES, this.#owner.maxPayloadBytes));
    const kept = await this.#owner.store.addLog(this.id, stored, this.#owner.keepLogs);
    if (kept === Status.JOB_MISSING) throw new JobNotFoundError(this.queueName, this.id);
    return kept;
  }

  /**
   * The job's log lines, oldest first; `start` and `end` are inclusive and may count from the end (-1 is
   * the newest), as in LRANGE.
   *
   * @param start - First line, from 0.
   * @param end - Last line, inclusive.
   */
  async getLogs(start = 0, end = -1): Promise<string[]> {
    return this.#owner.store.getLogs(this.id, start, end);
  }

  /**
   * How the jobs this job depends on ended ({@link Queue.addFlow}, or `add` with `dependsOn`), by their key
   * in the flow (by id for those given by id): state, and the return value or the failure reason. Their
   * results are copied to this job when they end, so retention cannot take them first. Empty for a job
   * without dependencies, and once this job ended.
   */
  async getDependencies(): Promise<Record<string, DependencyOutcome>> {
    return dependencyOutcomes(this.#owner, this.id);
  }

  /** The job's current state in Redis, or undefined when it no longer exists. */
  async getState(): Promise<JobState | undefined> {
    return (await this.#owner.store.getJob(this.id))?.state;
  }

  /**
   * Sends a failed (or completed) job back to waiting with its attempts and its stall count reset.
   *
   * @throws {@link ValidationError} when the job is not failed or completed; {@link JobNotFoundError} when
   * it no longer exists; {@link DecodeError} when its stored fields cannot be read.
   */
  async retry(): Promise<void> {
    const status = await this.#owner.store.retryJob(this.id);
    if (status === Status.JOB_MISSING) throw new JobNotFoundError(this.queueName, this.id);
    if (status === Status.WRONG_STATE) {
      throw new ValidationError(`job '${this.id}' is not failed or completed; only finished jobs can be retried`);
    }
    if (status === Status.CORRUPT) {
      throw new DecodeError(`job '${this.id}' cannot be retried: its stored fields cannot be read (written by hand or by another client); remove it`);
    }
  }

  /**
   * Replaces the data of a waiting, delayed or failed job (fix it, then retry). A job waiting on its level's
   * stream goes to the back of that level: a stream entry cannot be changed in place. JobActiveError while it
   * runs, JobStateError once it completed.
   */
  async updateData(data: Data): Promise<void> {
    await updateJobData(this.#owner, this.id, data);
    this.data = data;
  }

  /**
   * Moves a waiting or delayed job to another priority level: a job waiting on a stream goes to the back of
   * its new level; one in a group keeps its place among its group's jobs. JobActiveError while it runs,
   * JobStateError once it ended.
   */
  async changePriority(priority: number): Promise<void> {
    await changeJobPriority(this.#owner, this.id, priority);
    this.priority = priority;
  }

  /**
   * The job may start `ms` from now (Redis' clock). A delayed job gets the new time (0: it waits now); a
   * waiting job becomes delayed (and, once due, joins the back of its level). JobActiveError while it runs,
   * JobStateError once it ended.
   */
  async changeDelay(ms: number): Promise<void> {
    assertInteger('changeDelay ms', ms, 0);
    this.#rescheduled(await rescheduleJob(this.#owner, this.id, ms, -1));
  }

  /** As changeDelay, to an instant: the job may start at `runAt`. */
  async reschedule(runAt: Date): Promise<void> {
    if (!(runAt instanceof Date) || Number.isNaN(runAt.getTime())) throw new ValidationError(`reschedule takes a valid Date, got ${String(runAt)}`);
    this.#rescheduled(await rescheduleJob(this.#owner, this.id, -1, runAt.getTime()));
  }

  #rescheduled({ state, dueAt }: { state: 'delayed' | 'waiting'; dueAt: number }): void {
    this.#state = state;
    this.#dueAt = state === 'delayed' ? dueAt : undefined;
  }

  /** A delayed job (waiting out its delay or a retry's backoff) waits now. JobStateError when it is not delayed. */
  async promote(): Promise<void> {
    await promoteJob(this.#owner, this.id);
    this.#rescheduled({ state: 'waiting', dueAt: 0 });
  }

  /**
   * Ends the job for good: a waiting, delayed or blocked job is failed with `cancelled` (or `cancelled:
   * <reason>`) and never runs (the jobs that wait for it learn it, as of any failure); a running one is failed the same way, its worker's ctx.signal aborts with
   * JobCancelledError within about half a second, it is not retried, and its late result is discarded.
   * JobStateError when it already completed or failed.
   */
  async cancel(reason?: string): Promise<void> {
    const { at, failedReason } = await cancelJob(this.#owner, this.id, reason);
    this.failedReason = failedReason;
    this.settled('failed', at);
  }

  /**
   * Deletes the job and its logs, and emits a 'removed' event.
   *
   * @throws {@link JobActiveError} while the job runs; {@link JobNotFoundError} when it no longer exists.
   */
  async remove(): Promise<void> {
    const status = await this.#owner.store.removeJob(this.id);
    if (status === Status.JOB_MISSING) throw new JobNotFoundError(this.queueName, this.id);
    if (status === Status.JOB_ACTIVE) {
      throw new JobActiveError(`job '${this.id}' is running; wait for it to finish (or fail) before removing it`);
    }
  }

  /**
   * Resolves with the return value once the job completes; rejects with JobFailedError when it fails for
   * good, TimeoutError after `timeoutMs`, JobNotFoundError when it disappears (removed, or deleted at once
   * by removeOnComplete: true before the event could be seen).
   *
   * @param events - A QueueEvents of the same queue and prefix; the queue's events must be on
   * (`eventsMaxLen` above 0).
   * @param timeoutMs - Longest wait in ms, at most 2,147,483,647; without it, no limit.
   * @throws {@link JobFailedError}, {@link TimeoutError}, {@link JobNotFoundError} as above;
   * {@link ClosedError} when `events` is closed.
   */
  async waitUntilFinished(events: QueueEvents, timeoutMs?: number): Promise<Result> {
    // Whole ms, as setTimeout counts them; past Node's timer limit the timeout would fire at once.
    if (timeoutMs !== undefined) assertDuration('waitUntilFinished timeoutMs', typeof timeoutMs === 'number' ? Math.ceil(timeoutMs) : timeoutMs, 0);
    await events.waitUntilReady();
    return new Promise<Result>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const stop = events.onFinished(this.id, (outcome) => {
        if (timer !== undefined) clearTimeout(timer);
        if (outcome.failedReason === undefined) resolve(outcome.returnvalue as Result);
        else reject(new JobFailedError(this.id, outcome.failedReason));
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          stop();
          reject(new TimeoutError(`job '${this.id}' did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      // The job may have finished before the listener was attached: check once, after attaching.
      this.#owner.store.getJob(this.id).then(
        (stored) => {
          if (stored === null) {
            stop();
            if (timer !== undefined) clearTimeout(timer);
            reject(new JobNotFoundError(this.queueName, this.id));
          } else if (stored.state === 'completed') {
            stop();
            if (timer !== undefined) clearTimeout(timer);
            resolve(decode<Result>(stored.returnvalue, `job '${this.id}' return value`) as Result);
          } else if (stored.state === 'failed') {
            stop();
            if (timer !== undefined) clearTimeout(timer);
            reject(new JobFailedError(this.id, stored.failedReason || 'unknown'));
          }
        },
        (error: Error) => {
          stop();
          if (timer !== undefined) clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

/** A failed job's options may be what made it fail: its failedReason says so, and it reads with the defaults. */
function readableOptions(bytes: Buffer, state: JobState, what: string): ReturnType<typeof readStoredOptions> {
  try {
    return readStoredOptions(bytes, what);
  } catch (error) {
    if (state === 'failed' && error instanceof DecodeError) return readStoredOptions(Buffer.alloc(0), what);
    throw error;
  }
}

/**
 * A failed job's data may be the very bytes that made it fail (not msgpack): it can still be looked at, its
 * failedReason says why, and its data reads as undefined. Any other job with unreadable data is an error.
 */
function readableData<D>(bytes: Buffer, state: JobState, what: string): D {
  try {
    return decode<D>(bytes, what) as D;
  } catch (error) {
    if (state === 'failed' && error instanceof DecodeError) return undefined as D;
    throw error;
  }
}

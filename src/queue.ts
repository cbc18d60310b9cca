import { assertWellFormed } from './bounds.js';
import { checkRedisConfig } from './durability.js';
import { BulkAddError, ClosedError, DecodeError, JobActiveError, JobNotFoundError, ReplicationError, ValidationError } from './errors.js';
import { Adder, type AddOutcome, type AddReply } from './adder.js';
import { Batches, type Batch, type BatchJob, type BatchOptions, type BatchStatus } from './batches.js';
import { Job, type JobOwner } from './job.js';
import { queueKeys } from './keys.js';
import { trackOpen, untrackOpen } from './open-handles.js';
import {
  assertInteger,
  compactOptions,
  NO_OPTIONS,
  noOptions,
  TRACE_CONTEXT_KEY,
  normalizeJobOptions,
  validateDefaultJobOptions,
  type DefaultJobOptions,
  type JobOptions,
  type StoredJobOptions,
} from './options.js';
import {
  producerSettings,
  queueSettings,
  validateGroupLimit,
  validateGroupName,
  validateRateLimit,
  type Durability,
  type GroupLimit,
  type GroupStatus,
  type LimitedGroups,
  type QueueOptions,
  type RateWindow,
  type QueueSettings,
  type RateLimit,
} from './queue-settings.js';
import { closeConnection, connect, type Connection } from './redis/connection.js';
import { Reachability } from './redis/reachability.js';
import { Status } from './redis/status.js';
import { QueueStore, type AddInput } from './redis/store.js';
import { JOB_STATES, type Counts, type JobState, type QueueMetrics } from './states.js';
import { ScheduleStore } from './redis/schedule-store.js';
import { BatchStore } from './redis/batch-store.js';
import {
  decodeDefinition,
  describeJob,
  describeSpec,
  prepareSchedule,
  validateScheduleId,
  type ScheduleInfo,
  type ScheduleJob,
  type ScheduleSpec,
} from './schedules/definition.js';
import { firstTick } from './schedules/ticks.js';
import { encode } from './serializer.js';
import type { Logger } from './telemetry/logger.js';
import type { StoredTraceContext } from './telemetry/trace-context.js';
import { ProducerSpans } from './telemetry/tracing.js';

/** A job validated and encoded for the add script, with its options as its Job shows them. */
interface Prepared {
  input: AddInput;
  stored: StoredJobOptions;
}

export interface BulkJob<Data> {
  name: string;
  data: Data;
  opts?: JobOptions;
}

/** Jobs per obliterate / retryJobs step: one call stays near a millisecond of Redis time, as ADD_CHUNK (adder.ts). */
const STEP = 1000;
/** The producer side of a queue: adds jobs, inspects them, pauses, retries and deletes. */
export class Queue<Data = unknown, Result = unknown> implements JobOwner {
  readonly name: string;
  readonly store: QueueStore;
  readonly maxPayloadBytes: number;
  readonly keepLogs: number;
  readonly logger: Logger | undefined;
  readonly #settings: QueueSettings;
  readonly #defaults: DefaultJobOptions;
  readonly #connection: Connection;
  readonly #rateLimit: RateLimit | undefined;
  readonly #reachability: Reachability;
  readonly #durability: Durability | undefined;
  readonly #spans: ProducerSpans;
  readonly #adder: Adder;
  /** add and addBulk calls whose jobs joined the Adder and are not answered yet; close() waits for them. */
  #joinedCalls = 0;
  #allAnswered: (() => void) | undefined;
  /** The add input and options of a job added without options: normalized once. */
  readonly #plain: Prepared;
  #ready: Promise<void> | undefined;
  /** #ready resolved: the hot path checks this field instead of awaiting a settled promise. */
  #setUpDone = false;
  /** A read found the queue and checked it (#inspect); reset by obliterate. */
  #checked: Promise<boolean> | undefined;
  #closed = false;
  #scheduleStore: ScheduleStore | undefined;
  #batches: Batches<Data, Result> | undefined;

  constructor(name: string, options: QueueOptions) {
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new ValidationError(`new Queue('${String(name)}', options) needs options.connection ({ url } or ioredis options or an instance)`);
    }
    this.#settings = queueSettings(options);
    const keys = queueKeys(name, this.#settings.prefix, this.#settings.levels);
    this.#defaults = validateDefaultJobOptions(options.defaultJobOptions, this.#settings.levels);
    this.#rateLimit = options.rateLimit === undefined ? undefined : validateRateLimit(options.rateLimit, 'rateLimit');
    this.name = name;
    this.maxPayloadBytes = this.#settings.maxPayloadBytes;
    this.keepLogs = this.#settings.keepLogs;
    this.logger = options.logger;
    this.#spans = new ProducerSpans(name);
    const producer = producerSettings(options);
    this.#durability = producer.durability;
    this.#connection = connect(options.connection, { commandTimeout: producer.commandTimeout });
    this.#reachability = new Reachability(this.#connection.client, producer.offlineTimeout, producer.maxOfflineCalls);
    this.store = new QueueStore(this.#connection.client, keys, this.#settings.eventsMaxLen);
    this.#plain = this.#prepareOptions(undefined, undefined);
    // Shared by the Job of every job added without options, as reads share DEFAULT_STORED.
    Object.freeze(this.#plain.stored);
    this.#adder = new Adder(this.store, { ready: () => (this.#setUpDone ? undefined : this.#setUp()), durability: this.#durability });
    trackOpen(this, `Queue '${name}'`);
  }

  get queueName(): string {
    return this.name;
  }

  /** Checks priorityLevels against Redis once; later calls reuse the answer. */
  #init(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`Queue '${this.name}'`));
    return this.#setUp();
  }

  /** #init without the closed check: adds handed to the Adder before close() are still sent. */
  #setUp(): Promise<void> {
    if (this.#ready === undefined) {
      const limit = this.#rateLimit;
      const ready = checkRedisConfig(this.store, this.#settings.redisConfig, `Queue '${this.name}'`)
        .then(() => this.store.init(this.#settings.levels))
        .then(() => (limit === undefined ? undefined : this.store.setRateLimit(limit)));
      this.#ready = ready;
      ready.then(
        () => {
          if (this.#ready === ready) this.#setUpDone = true;
        },
        () => {
          if (this.#ready === ready) this.#ready = undefined;
        },
      );
    }
    return this.#ready;
  }

  /**
   * Before a read: checks the queue against Redis as #init does, but creates nothing. Reads must not write:
   * a read of a queue that is not there (obliterated a moment ago, or never used) finds it empty and leaves
   * no keys behind. Resolves whether the queue exists; only a found queue is remembered, so reads keep
   * asking (one small script call) until something creates it.
   */
  #inspect(): Promise<boolean> {
    if (this.#closed) return Promise.reject(new ClosedError(`Queue '${this.name}'`));
    if (this.#ready !== undefined) return this.#ready.then(() => true);
    if (this.#checked === undefined) {
      const checked = checkRedisConfig(this.store, this.#settings.redisConfig, `Queue '${this.name}'`).then(() => this.store.check(this.#settings.levels));
      this.#checked = checked;
      const forget = (): void => {
        if (this.#checked === checked) this.#checked = undefined;
      };
      void checked.then((found) => {
        if (!found) forget();
      }, forget);
    }
    return this.#checked;
  }

  /**
   * Validates and encodes one job; throws before anything is sent. A job without options (most of them)
   * reuses the queue's default options, normalized and encoded once in the constructor.
   */
  #prepare(name: unknown, data: unknown, opts: JobOptions | undefined, trace: StoredTraceContext | undefined): Prepared {
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      throw new ValidationError(`job name must be a string of 1 to 256 characters, got ${JSON.stringify(name)}`);
    }
    const { input, stored } = opts === undefined && trace === undefined ? this.#plain : this.#prepareOptions(opts, trace);
    const encoded = encode(data, 'job data', this.maxPayloadBytes);
    return {
      input: { jobId: input.jobId, name, data: encoded, opts: input.opts, prio: input.prio, delay: input.delay, runAt: input.runAt, group: input.group },
      stored,
    };
  }

  /** A job's options, validated and encoded; the input's name and data are left empty for #prepare. */
  #prepareOptions(opts: JobOptions | undefined, trace: StoredTraceContext | undefined): Prepared {
    const job = normalizeJobOptions(opts, this.#defaults, this.#settings.levels);
    const compact = compactOptions(job.stored);
    const stored = trace === undefined ? compact : { ...compact, [TRACE_CONTEXT_KEY]: trace };
    const input = {
      jobId: job.jobId ?? '',
      name: '',
      data: NO_OPTIONS,
      opts: noOptions(stored) ? NO_OPTIONS : encode(stored, 'job options', this.maxPayloadBytes),
      prio: job.priority,
      delay: job.delay,
      runAt: job.runAt,
      group: job.stored.group ?? '',
    };
    return { input, stored: job.stored };
  }

  /**
   * Adds one job. It is validated and encoded at once (a bad one rejects alone), then joins the add script
   * call of the other adds of this Queue made meanwhile (see adder.ts): adds made while one is in flight
   * leave together when it returns, up to 200 per call. Each caller gets its own job or its own error.
   */
  async add(name: string, data: Data, opts?: JobOptions): Promise<Job<Data, Result>> {
    const called = performance.now();
    const spans = this.#spans.start(1);
    try {
      const prepared = this.#prepare(name, data, opts, spans.traceContext(0));
      const [job] = await this.#submit([prepared.input], [prepared], [data], called);
      spans.end([job as Job<Data, Result>]);
      if (this.logger?.isLevelEnabled('debug') === true) this.logger.debug({ queue: this.name, count: 1, jobId: job?.id }, 'jobs added');
      return job as Job<Data, Result>;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  /**
   * Adds many jobs: all are validated and encoded before anything is written, then sent 200 per script
   * call, pipelined. Each job is atomic; a jobId that exists returns the existing job.
   */
  async addBulk(jobs: readonly BulkJob<Data>[]): Promise<Job<Data, Result>[]> {
    const called = performance.now();
    // One send span per call (plus a create span per job for a bulk); see telemetry/tracing.ts.
    const spans = this.#spans.start(Array.isArray(jobs) ? jobs.length : 0);
    try {
      // Checked through `unknown`: Array.isArray would narrow a readonly array to any[].
      const given: unknown = jobs;
      if (!Array.isArray(given)) throw new ValidationError('addBulk takes an array of { name, data, opts }');
      const prepared = jobs.map((job, i) => {
        if (typeof job !== 'object' || job === null) throw new ValidationError(`addBulk: item ${i} is not an object`);
        return this.#prepare(job.name, job.data, job.opts, spans.traceContext(i));
      });
      const added = await this.#submit(
        prepared.map((p) => p.input),
        prepared,
        jobs.map((job) => job.data),
        called,
      );
      spans.end(added);
      if (this.logger?.isLevelEnabled('debug') === true) {
        this.logger.debug({ queue: this.name, count: added.length, ...(added.length === 1 ? { jobId: added[0]?.id } : {}) }, 'jobs added');
      }
      return added;
    } catch (error) {
      spans.end(undefined, error);
      throw error;
    }
  }

  /** Sends prepared jobs through the Adder and makes their Jobs; `data[i]` is job i's data as given. */
  async #submit(inputs: AddInput[], prepared: readonly Prepared[], data: readonly Data[], called: number): Promise<Job<Data, Result>[]> {
    // Each call waits for a connection that is down on its own, bounded by offlineTimeout and
    // maxOfflineCalls, before it joins a batch: a call that gives up was never sent.
    const offline = this.#reachability.whenReady();
    if (offline !== undefined) await offline;
    if (this.#closed) throw new ClosedError(`Queue '${this.name}'`);
    if (prepared.length === 0) {
      await this.#init();
      if (this.#durability !== undefined) this.#checkReplicated(await this.store.waitForReplicas(this.#durability.replicas, this.#durability.timeoutMs));
      return [];
    }
    // From here on the call is close()'s to wait for: its jobs may already be in a batch.
    this.#joinedCalls++;
    try {
      return await this.#joined(this.#adder.add(inputs, called), prepared, data);
    } finally {
      if (--this.#joinedCalls === 0) this.#allAnswered?.();
    }
  }

  async #joined(reply: Promise<AddReply>, prepared: readonly Prepared[], data: readonly Data[]): Promise<Job<Data, Result>[]> {
    const { outcomes, replicated } = await reply;
    const failed: { index: number; error: Error }[] = [];
    const out: Job<Data, Result>[] = [];
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i] as AddOutcome;
      if ('error' in outcome) {
        failed.push({ index: i, error: outcome.error });
        continue;
      }
      if (outcome.duplicate) {
        // Read through the store, not getJob(): a close() that began meanwhile waits for this call.
        const existing = await this.store.getJob(outcome.id);
        if (existing !== null) {
          out.push(Job.fromStored<Data, Result>(this, existing));
          continue;
        }
      }
      const { input, stored } = prepared[i] as Prepared;
      out.push(this.#fresh(outcome.id, data[i] as Data, input, stored, outcome.spent));
    }
    // Every call failed: nothing of this call was written (or, on a timeout, nothing is known), so the
    // call's own error says it best.
    if (failed.length === outcomes.length && failed[0] !== undefined) throw failed[0].error;
    if (failed.length > 0) throw new BulkAddError(out, failed, outcomes.length);
    this.#checkReplicated(replicated);
    return out;
  }

  /** Throws when durability asked for replicas and WAIT did not confirm them (or failed). */
  #checkReplicated(replicated: number | Error | undefined): void {
    if (replicated === undefined || this.#durability === undefined) return;
    if (replicated instanceof Error) throw replicated;
    const { replicas, timeoutMs } = this.#durability;
    if (replicated < replicas) throw new ReplicationError(replicated, replicas, timeoutMs);
  }

  #fresh(id: string, data: Data, input: AddInput, stored: StoredJobOptions, spent: number): Job<Data, Result> {
    const now = Date.now();
    const delayed = input.delay > spent || input.runAt > now;
    return new Job<Data, Result>(this, {
      id,
      name: input.name,
      data,
      opts: stored,
      priority: input.prio,
      attemptsMade: 0,
      attemptsStarted: 0,
      timestamp: now,
      state: delayed ? 'delayed' : 'waiting',
    });
  }

  /**
   * The job as it is now, or undefined when there is none. A job whose stored fields cannot be read (written
   * by hand, or by a buggy client) is a DecodeError that names what is wrong.
   */
  async getJob(id: string): Promise<Job<Data, Result> | undefined> {
    if (typeof id !== 'string' || id.length === 0) throw new ValidationError(`getJob takes a job id string, got ${JSON.stringify(id)}`);
    assertWellFormed('jobId', id, 'it could name another job');
    await this.#inspect();
    const stored = await this.store.getJob(id);
    return stored === null ? undefined : Job.fromStored<Data, Result>(this, stored);
  }

  /**
   * One page of jobs in a state: waiting and active in the order they run, delayed soonest first,
   * completed and failed newest first. `start` and `end` are inclusive, as in ZRANGE. A job whose stored
   * fields cannot be read is left out of the page with a process warning (DecodeError) naming it: one bad
   * record must not hide the others.
   */
  async getJobs(state: JobState, start = 0, end = 99): Promise<Job<Data, Result>[]> {
    if (!JOB_STATES.includes(state)) throw new ValidationError(`getJobs: state must be one of ${JOB_STATES.join(', ')}, got '${String(state)}'`);
    assertInteger('getJobs start', start, 0);
    assertInteger('getJobs end', end, start);
    await this.#inspect();
    const jobs: Job<Data, Result>[] = [];
    for (const stored of await this.store.getJobs(state, start, end)) {
      try {
        jobs.push(Job.fromStored<Data, Result>(this, stored));
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        process.emitWarning(`sluice queue '${this.name}': ${error.message}`, { code: error.code });
      }
    }
    return jobs;
  }

  /** Exact counts, O(priority levels), no scans. While paused, waiting jobs are counted under `paused`. */
  async getCounts(): Promise<Counts> {
    await this.#inspect();
    return this.store.getCounts();
  }

  /**
   * What the metrics exporter reports: counts, waiting per priority level, the oldest waiting job's age,
   * lifetime completed and failed totals. One script call, O(priority levels), no scans.
   */
  async getMetrics(): Promise<QueueMetrics> {
    await this.#inspect();
    return this.store.getMetrics();
  }

  /** Workers stop taking jobs (running ones finish); adds keep working. */
  async pause(): Promise<void> {
    await this.#init();
    await this.store.setPaused(true);
  }

  async resume(): Promise<void> {
    await this.#init();
    await this.store.setPaused(false);
  }

  /**
   * Queue-wide limit, kept in Redis and enforced in the claim script for every worker: in any window of
   * `duration` ms at most `max` jobs start. Takes effect from the next claim of every worker.
   */
  async setRateLimit(limit: RateLimit): Promise<void> {
    const valid = validateRateLimit(limit, 'setRateLimit');
    await this.#init();
    await this.store.setRateLimit(valid);
  }

  async removeRateLimit(): Promise<void> {
    await this.#init();
    await this.store.setRateLimit(null);
  }

  async getRateLimit(): Promise<RateLimit | null> {
    await this.#inspect();
    return this.store.getRateLimit();
  }

  /**
   * Limits for groups: without `group`, the default for every group; with it, that group's own rule,
   * which replaces the default for it. `max` and `duration` bound starts per window, `concurrency` bounds
   * the group's jobs running at once. Takes effect from the next claim of every worker.
   */
  async setGroupLimit(limit: GroupLimit, group?: string): Promise<void> {
    const valid = validateGroupLimit(limit);
    const name = validateGroupName(group);
    await this.#init();
    await this.store.setGroupLimit(name, valid);
  }

  /** Removes a group's own rule (it falls back to the default), or, without `group`, the default itself. */
  async removeGroupLimit(group?: string): Promise<void> {
    const name = validateGroupName(group);
    await this.#init();
    await this.store.setGroupLimit(name, null);
  }

  /** Every group rule; the default is under the key ''. */
  async getGroupLimits(): Promise<Map<string, GroupLimit>> {
    await this.#inspect();
    return this.store.getGroupLimits();
  }

  /** One group's waiting and running jobs, and its state: idle, ready, throttled (rate) or full (concurrency). */
  async getGroup(group: string): Promise<GroupStatus> {
    const name = validateGroupName(group);
    if (name === '') throw new ValidationError('getGroup takes a group name');
    await this.#inspect();
    return this.store.getGroup(name);
  }

  /**
   * Sends the jobs that are failed (or completed) now back to waiting, 1,000 per script call; returns how
   * many. Bounded by the set's size at the call: jobs that fail again meanwhile are not retried twice.
   */
  async retryJobs(state: 'failed' | 'completed' = 'failed'): Promise<number> {
    if (state !== 'failed' && state !== 'completed') {
      throw new ValidationError(`retryJobs: state must be 'failed' or 'completed', got '${String(state)}'`);
    }
    await this.#init();
    const present = (await this.store.getCounts())[state];
    let seen = 0;
    let total = 0;
    let skip = 0;
    while (seen < present) {
      const { looked, revived, stayed } = await this.store.retryJobs(state, Math.min(STEP, present - seen), skip);
      seen += looked;
      total += revived;
      // Jobs whose stored fields cannot be used stay at the front of the set: later calls pass over them.
      skip += stayed;
      if (looked === 0) break;
    }
    return total;
  }

  /**
   * Creates or changes the recurring schedule `id`: every tick enqueues one job `job`, with the job id
   * `<id>:<tick ms>`, exactly once however many processes fire schedules. Idempotent: the same definition
   * again changes nothing (call it at every boot from every pod); a changed one recomputes the next run.
   * Everything is validated before anything is written. Ticks are fired by every Worker of the queue and
   * by Schedulers, not by the Queue.
   */
  async upsertSchedule(id: string, spec: ScheduleSpec, job: ScheduleJob<Data>): Promise<{ next: Date | null; changed: boolean }> {
    validateScheduleId(id);
    const { definition, encoded } = prepareSchedule(id, spec, job, this.#defaults, this.#settings.levels, this.maxPayloadBytes);
    await this.#init();
    const schedules = this.#schedules();
    const first = firstTick(definition.timing, await schedules.now());
    const stored = await schedules.upsert(id, encoded, first ?? -1, definition.timing.limit);
    return { next: stored.next < 0 ? null : new Date(stored.next), changed: stored.changed };
  }

  /** Every schedule of the queue, by id, with its next run (null once it ended) and runs so far. */
  async getSchedules(): Promise<ScheduleInfo<Data>[]> {
    await this.#inspect();
    return (await this.#schedules().list()).map((stored) => {
      const definition = decodeDefinition(stored.definition, stored.id);
      return {
        id: stored.id,
        spec: describeSpec(definition.timing),
        job: describeJob<Data>(definition),
        next: stored.next < 0 ? null : new Date(stored.next),
        runs: stored.runs,
      };
    });
  }

  /**
   * Deletes a schedule (jobs it already enqueued stay); resolves with whether it existed. Like the reads, it
   * creates no queue: on a queue that does not exist it finds nothing to delete.
   */
  async removeSchedule(id: string): Promise<boolean> {
    validateScheduleId(id);
    await this.#inspect();
    return this.#schedules().remove(id);
  }

  /**
   * Opens a batch (src/batches.ts): add members with the handle's add/addBulk, from this producer or others
   * (queue.batch(id)), then seal it. Its onComplete and onSuccess jobs are enqueued in this queue exactly
   * once, when every member has settled.
   */
  openBatch(options?: BatchOptions): Promise<Batch<Data, Result>> {
    return this.#batchesOf().open(options);
  }

  /** A whole batch in one call: opened, its members added (200 per script call), sealed. */
  addBatch(jobs: readonly BatchJob<Data>[], options?: BatchOptions): Promise<Batch<Data, Result>> {
    return this.#batchesOf().addAll(jobs, options);
  }

  /** A handle on an open batch, for adding to it and sealing it from another producer. No I/O. */
  batch(id: string): Batch<Data, Result> {
    return this.#batchesOf().handle(id);
  }

  /** A batch's exact counts and whether its callbacks fired; undefined when there is none (or it expired). */
  getBatch(id: string): Promise<BatchStatus | undefined> {
    return this.#batchesOf().status(id);
  }

  #batchesOf(): Batches<Data, Result> {
    this.#batches ??= new Batches<Data, Result>({
      owner: this,
      store: new BatchStore(this.store.client, this.store.keys, this.#settings.eventsMaxLen),
      levels: this.#settings.levels,
      defaults: this.#defaults,
      maxPayloadBytes: this.maxPayloadBytes,
      spans: this.#spans,
      prepare: (name, data, opts, trace) => this.#prepare(name, data, opts, trace),
      ready: async () => {
        const offline = this.#reachability.whenReady();
        if (offline !== undefined) await offline;
        await this.#init();
      },
      replicated: async () => {
        if (this.#durability !== undefined) this.#checkReplicated(await this.store.waitForReplicas(this.#durability.replicas, this.#durability.timeoutMs));
      },
      inspect: () => this.#inspect(),
      join: (call) => this.#joinCall(call),
    });
    return this.#batches;
  }

  /** A call close() waits for, as it waits for adds handed to the Adder. */
  async #joinCall<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClosedError(`Queue '${this.name}'`);
    this.#joinedCalls++;
    try {
      return await call();
    } finally {
      if (--this.#joinedCalls === 0) this.#allAnswered?.();
    }
  }

  #schedules(): ScheduleStore {
    this.#scheduleStore ??= new ScheduleStore(this.store.client, this.store.keys, this.#settings.eventsMaxLen);
    return this.#scheduleStore;
  }

  /**
   * Deletes the queue and all its jobs, 1,000 per script call. Refused with JobActiveError while jobs are
   * running, unless `force` (their workers' results are then discarded as lease-lost).
   */
  async obliterate(options: { force?: boolean } = {}): Promise<void> {
    if (this.#closed) throw new ClosedError(`Queue '${this.name}'`);
    for (;;) {
      const step = await this.store.obliterate(options.force === true, STEP);
      if (step === Status.JOB_ACTIVE) {
        throw new JobActiveError(`queue '${this.name}' has running jobs; wait for them, or pass { force: true }`);
      }
      if (step === 0) break;
    }
    await this.store.unregister();
    this.#ready = undefined;
    this.#setUpDone = false;
    this.#checked = undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Adds already handed to the Adder are sent and answered before the connection goes.
    if (this.#joinedCalls > 0) {
      await new Promise<void>((resolve) => {
        this.#allAnswered = resolve;
      });
    }
    await closeConnection(this.#connection);
    untrackOpen(this);
  }

  // Operators' operations (the dashboard, the CLI): bulk clean-up, promotion, and reads of the limits.

  /**
   * Deletes the `state` jobs (completed or failed) that finished more than `olderThanMs` ago on Redis'
   * clock, with their logs, 1,000 per step through the remove-job script; resolves how many it deleted.
   * Jobs that finish meanwhile are newer than the cut and stay.
   */
  async clean(state: 'completed' | 'failed', olderThanMs: number): Promise<number> {
    if (state !== 'completed' && state !== 'failed') throw new ValidationError(`clean: state must be 'completed' or 'failed', got '${String(state)}'`);
    assertInteger('clean olderThanMs', olderThanMs, 0);
    if (!(await this.#inspect())) return 0;
    const before = (await this.store.time()) - olderThanMs;
    let removed = 0;
    // Ids a step could not delete (retried and running meanwhile) stay in the set: later steps pass over them.
    let skip = 0;
    for (;;) {
      const ids = await this.store.finishedBefore(state, before, skip, STEP);
      const statuses = await Promise.all(ids.map((id) => this.store.removeJob(id)));
      const gone = statuses.filter((status) => status === Status.OK).length;
      removed += gone;
      skip += ids.length - gone;
      if (ids.length < STEP) break;
    }
    return removed;
  }

  /**
   * Moves a delayed job (waiting out its delay or a retry's backoff) to waiting now, through the script that
   * moves due jobs. JobNotFoundError when there is no such job, ValidationError when it is not delayed.
   */
  async promoteJob(id: string): Promise<void> {
    if (typeof id !== 'string' || id.length === 0) throw new ValidationError(`promoteJob takes a job id string, got ${JSON.stringify(id)}`);
    assertWellFormed('jobId', id, 'it could name another job');
    if ((await this.#inspect()) && (await this.store.dueTime(id)) !== null) {
      await this.#schedules().promote(Math.max(await this.store.makeDue([id]), 1));
      return;
    }
    const state = (await this.store.getJob(id))?.state;
    if (state === undefined) throw new JobNotFoundError(this.name, id);
    throw new ValidationError(`job '${id}' is ${state}, not delayed; only a delayed job can be promoted`);
  }

  /**
   * Moves every job delayed now to waiting, soonest due first, 1,000 per step; resolves how many it moved.
   * Bounded by the delayed count at the call: jobs delayed meanwhile may stay delayed.
   */
  async promoteJobs(): Promise<number> {
    if (!(await this.#inspect())) return 0;
    const present = (await this.store.getCounts()).delayed;
    let total = 0;
    while (total < present) {
      const ids = await this.store.soonestDelayed(Math.min(STEP, present - total));
      if (ids.length === 0) break;
      const step = await this.#schedules().promote(await this.store.makeDue(ids));
      if (step === 'needs-init' || step.promoted === 0) break;
      total += step.promoted;
    }
    return total;
  }

  /**
   * The groups limits hold back now: up to `limit` throttled (soonest free first) and `limit` full ones,
   * each with its waiting and running jobs, and the totals. O(limit) reads.
   */
  async getLimitedGroups(limit = 100): Promise<LimitedGroups> {
    assertInteger('getLimitedGroups limit', limit, 1, 10_000);
    if (!(await this.#inspect())) return { throttled: [], full: [], throttledTotal: 0, fullTotal: 0, withWork: 0 };
    const held = await this.store.heldGroups(limit);
    const status = async (group: string): Promise<{ group: string; waiting: number; active: number }> => {
      const { waiting, active } = await this.store.getGroup(group);
      return { group, waiting, active };
    };
    const [throttled, full] = await Promise.all([
      Promise.all(held.throttled.map(async ({ group, until }) => ({ ...(await status(group)), until: new Date(until) }))),
      Promise.all(held.full.map(status)),
    ]);
    return { throttled, full, throttledTotal: held.throttledTotal, fullTotal: held.fullTotal, withWork: held.withWork };
  }

  /** The queue-wide limit, the jobs started in its current window, and a RateLimitError's hold on the queue. */
  async getRateWindow(): Promise<RateWindow> {
    if (!(await this.#inspect())) return { limit: null, started: 0, heldUntil: null };
    const [limit, now, hold] = await Promise.all([this.store.getRateLimit(), this.store.time(), this.store.queueHold()]);
    const started = limit === null ? 0 : await this.store.startedSince(now - limit.duration);
    return { limit, started, heldUntil: hold === null || hold <= now ? null : new Date(hold) };
  }
}

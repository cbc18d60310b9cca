import { assertWellFormed } from './bounds.js';
import { checkRedisConfig } from './durability.js';
import type { BulkOptions } from './bulk-progress.js';
import { ClosedError, ValidationError } from './errors.js';
import { QueueAdding, type Prepared } from './queue-adding.js';
import { QueueSetUp } from './queue-setup.js';
import * as admin from './queue-admin.js';
import * as limits from './queue-limits.js';
import * as reads from './queue-reads.js';
import * as schedules from './schedules/queue-schedules.js';
import { hasFlowOptions, type AddedFlow, type Flow } from './flows.js';
import type { Batches} from './batches.js';
import { type Batch, type BatchJob, type BatchOptions, type BatchStatus } from './batches.js';
import type { Job, JobOwner } from './job.js';
import { cancelJob, promoteJob } from './job-control.js';
import { queueKeys } from './keys.js';
import { trackOpen, untrackOpen } from './open-handles.js';
import {
  assertInteger,
  validateDefaultJobOptions,
  type DefaultJobOptions,
  type JobOptions,
} from './options.js';
import {
  producerSettings,
  queueSettings,
  validateConcurrency,
  validateGroupLimit,
  validateGroupName,
  validateRateLimit,
  type GroupLimit,
  type GroupStatus,
  type LimitedGroups,
  type QueueOptions,
  type RateWindow,
  type QueueSettings,
  type RateLimit,
} from './queue-settings.js';
import { closeConnection, connect, serverFor, type Connection } from './redis/connection.js';
import { keySlot } from './redis/slot.js';
import { partitionTag, type PartitionInfo } from './partitions/placement.js';
import { HISTORY_MINUTES } from './redis/history.js';
import { Reachability } from './redis/reachability.js';
import { QueueStore, type AddInput } from './redis/store.js';
import { ShareStore } from './redis/share-store.js';
import { JOB_STATES, type Counts, type JobState, type MinuteCounts, type QueueMetrics } from './states.js';
import { validateScheduleId, type ScheduleInfo, type ScheduleJob, type ScheduleSpec } from './schedules/definition.js';
import { innerOptions, innerPartition, once } from './partitions/inner.js';
import { notForPartitions, QueuePartitions, splitRateLimit } from './partitions/queue-partitions.js';
import type { LabelUse } from './labels.js';
import { isJobFilter, type JobFilter } from './job-finder.js';
import type { Logger } from './telemetry/logger.js';
import { ProducerSpans } from './telemetry/tracing.js';
import type { WorkerInfo } from './worker/heartbeat.js';

export type { Prepared } from './queue-adding.js';

/** One job of {@link Queue.addBulk}: the arguments of {@link Queue.add} as an object. */
export interface BulkJob<Data> {
  /** The job's name, 1 to 256 characters: what a handler tells jobs apart by. */
  name: string;
  /** The job's data: any value msgpack can carry, at most `maxPayloadBytes` once encoded. */
  data: Data;
  /**
   * The job's own options, over the Queue's `defaultJobOptions`.
   *
   * @defaultValue none: the Queue's `defaultJobOptions` alone
   */
  opts?: JobOptions;
}

/**
 * The producer side of a queue: adds jobs, inspects them, pauses, retries and deletes.
 *
 * Reads (getJob, getJobs, getCounts, getMetrics, the limit and schedule reads), removeSchedule, clean and
 * promoteJob(s) never create the queue: on a queue that does not exist they find it empty and write
 * nothing. add, pause, the limit and schedule setters and a Worker create it. Every method of a closed
 * Queue rejects with {@link ClosedError}.
 *
 * @typeParam Data - The type of the jobs' data.
 * @typeParam Result - The type of what the jobs' handlers return.
 */
export class Queue<Data = unknown, Result = unknown> implements JobOwner {
  /** The queue's name, as given to the constructor. */
  readonly name: string;
  /** @internal The queue's typed script verbs (src/redis/store.ts), for Job, the dashboard and tests. */
  readonly store: QueueStore;
  /** The `maxPayloadBytes` option in effect, in bytes. */
  readonly maxPayloadBytes: number;
  /** The `keepLogs` option in effect: newest log lines kept per job, 0 for all. */
  readonly keepLogs: number;
  /** The `logger` option, if one was given: the parent of every `job.logger` of this Queue's jobs. */
  readonly logger: Logger | undefined;
  /** The `telemetryMeta` option in effect: the meta keys this Queue's jobs' `job.logger` binds. */
  readonly telemetryMeta: readonly string[];
  readonly #settings: QueueSettings;
  readonly #defaults: DefaultJobOptions;
  readonly #connection: Connection;
  readonly #reachability: Reachability;
  /** The add path (src/queue-adding.ts): validation, the Adder, and the calls close() waits for. */
  readonly #adding: QueueAdding<Data, Result>;
  /** The queue's state against Redis (src/queue-setup.ts), which the operations modules (queue-admin.ts and the like) are given. */
  readonly #access: QueueSetUp;
  /** With `partitions` > 1: the partitions' Queues, which every method hands its work to (src/partitions/). */
  readonly #parts: QueuePartitions<Data, Result, Prepared> | undefined;

  /**
   * Validates the name and every option, then opens a connection (an ioredis instance given as
   * `connection` is used as is). Nothing is written until the first call that needs the queue; that call
   * checks the queue's settings against Redis first (the `redisConfig` check, `priorityLevels`).
   *
   * @param name - The queue's name: 1 to 100 bytes of UTF-8, without braces, white space or control
   * characters (it is the Redis Cluster hash tag of every key of the queue).
   * @param options - {@link QueueOptions}; `connection` is required.
   * @throws {@link ValidationError} when the name or an option is not acceptable.
   */
  constructor(name: string, options: QueueOptions) {
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new ValidationError(`new Queue('${String(name)}', options) needs options.connection ({ url } or ioredis options or an instance)`);
    }
    this.#settings = queueSettings(options);
    const inner = innerPartition(options);
    const partitions = inner?.count ?? this.#settings.partitions;
    const keys = queueKeys(name, this.#settings.prefix, this.#settings.levels, { index: inner?.index ?? 0, count: partitions });
    this.#defaults = validateDefaultJobOptions(options.defaultJobOptions, this.#settings.levels);
    const rateLimit = options.rateLimit === undefined ? undefined : validateRateLimit(options.rateLimit, 'rateLimit');
    // A limit that cannot be split over the partitions is refused before anything connects.
    if (rateLimit !== undefined && inner === undefined && partitions > 1) splitRateLimit(name, rateLimit, partitions);
    this.name = name;
    this.maxPayloadBytes = this.#settings.maxPayloadBytes;
    this.keepLogs = this.#settings.keepLogs;
    this.logger = options.logger;
    this.telemetryMeta = this.#settings.telemetryMeta;
    if (options.context !== undefined && typeof options.context !== 'function') {
      throw new ValidationError(`new Queue('${name}'): context must be a function () => meta | undefined, called at each add`);
    }
    const checkConfig = inner?.checkConfig ?? (() => checkRedisConfig(this.store, this.#settings.redisConfig, `Queue '${this.name}'`));
    const producer = producerSettings(options);
    this.#connection = inner === undefined ? connect(options.connection, { commandTimeout: producer.commandTimeout }) : { client: inner.client, owned: false };
    this.#reachability = inner?.reachability ?? new Reachability(this.#connection.client, producer.offlineTimeout, producer.maxOfflineCalls);
    this.store = new QueueStore(this.#connection.client, keys, this.#settings.eventsMaxLen);
    this.#access = new QueueSetUp(this, this.#settings, rateLimit, checkConfig);
    const access = this.#access;
    this.#adding = new QueueAdding<Data, Result>({
      owner: this,
      name,
      store: this.store,
      levels: this.#settings.levels,
      defaults: this.#defaults,
      maxPayloadBytes: this.maxPayloadBytes,
      context: options.context,
      durability: producer.durability,
      reachability: this.#reachability,
      spans: new ProducerSpans(name),
      parts: () => this.#parts,
      closed: () => access.closed,
      init: () => access.init(),
      pending: () => access.pending(),
      inspect: () => access.inspect(),
      prefix: this.#settings.prefix,
      eventsMaxLen: this.#settings.eventsMaxLen,
    });
    if (inner === undefined && partitions > 1) {
      const client = this.#connection.client;
      const reachability = this.#reachability;
      // One Redis config check for all partitions (3 CONFIG GETs per master each would be N times as many).
      const checkConfig = once(() => checkRedisConfig(this.store, this.#settings.redisConfig, `Queue '${this.name}'`));
      const parts = Array.from(
        { length: partitions },
        // The rateLimit option is split over the partitions (QueuePartitions), not set whole on each.
        (_, index) => new Queue<Data, Result>(name, innerOptions({ ...options, rateLimit: undefined }, { index, count: partitions, client, reachability, checkConfig })),
      );
      const shares = {
        parts: parts.map((part) => ({ shares: new ShareStore(client, part.store.keys), queue: part.store })),
        init: async () => void (await Promise.all(parts.map((part) => part.#access.init()))),
      };
      this.#parts = new QueuePartitions(name, parts, rateLimit, shares);
    }
    trackOpen(this, `Queue '${name}'`);
  }

  /** The queue's name: the same as `name`. */
  get queueName(): string {
    return this.name;
  }

  /**
   * Adds one job. It is validated and encoded at once (a bad one rejects alone), then joins the add script
   * call of the other adds of this Queue made meanwhile (see adder.ts): adds made while one is in flight
   * leave together when it returns, up to 200 per call. Each caller gets its own job or its own error.
   *
   * @param name - The job's name, 1 to 256 characters.
   * @param data - Any value msgpack can carry, at most `maxPayloadBytes` once encoded.
   * @param opts - The job's options, over the Queue's `defaultJobOptions`.
   * @returns The job as added; with a `jobId` that exists already, the existing job as it is now.
   * @throws {@link ValidationError} for a bad name or option, {@link PayloadTooLargeError} or
   * {@link EncodeError} for data that cannot be stored: nothing was sent.
   * @throws {@link RedisUnavailableError} (nothing was sent), {@link RedisTimeoutError} (the outcome is
   * unknown: retry with the same `jobId`), {@link RedisOutOfMemoryError}, {@link ReplicationError} (with
   * `durability`: the job exists), {@link ClosedError}.
   */
  async add(name: string, data: Data, opts?: JobOptions): Promise<Job<Data, Result>> {
    if (this.#parts !== undefined && opts !== undefined && (hasFlowOptions(opts) || opts.dedupe !== undefined || opts.labels !== undefined)) {
      const what = hasFlowOptions(opts) ? 'flow options (dependsOn and the like)' : opts.dedupe !== undefined ? 'the dedupe option' : 'labels';
      throw notForPartitions(this.name, this.#parts.count, what);
    }
    if (opts !== undefined && hasFlowOptions(opts)) return (await this.#adding.flows().add(name, data, opts)) as Job<Data, Result>;
    return this.#adding.add(name, data, opts);
  }

  /**
   * Adds many jobs: all are validated and encoded before anything is written, then sent 200 per script
   * call, pipelined. Each job is atomic; a jobId that exists returns the existing job.
   *
   * @param jobs - The jobs, each `{ name, data, opts? }` as for {@link Queue.add}.
   * @returns The jobs in input order.
   * @throws {@link ValidationError}, {@link PayloadTooLargeError} or {@link EncodeError} when any job is
   * refused: then none was sent.
   * @throws {@link BulkAddError} when some chunks were written and others were not: its `added` and
   * `failed` say which. When no chunk was written, the chunks' own error (as for {@link Queue.add}).
   */
  addBulk(jobs: readonly BulkJob<Data>[]): Promise<Job<Data, Result>[]> {
    return this.#adding.addBulk(jobs);
  }

  /**
   * Adds jobs that depend on each other (and on existing jobs, by `opts.dependsOn`) in one script call, all
   * or none: each waits `blocked` until the jobs it depends on ended (src/flows.ts).
   */
  async addFlow(flow: Flow<Data>): Promise<AddedFlow<Data, Result>> {
    if (this.#parts !== undefined) throw notForPartitions(this.name, this.#parts.count, 'addFlow');
    return (await this.#adding.flows().addFlow(flow)) as AddedFlow<Data, Result>;
  }

  /** @internal A partitioned Queue's way into one partition's Queue: jobs it prepared and routed (src/partitions/). */
  submitPrepared(inputs: AddInput[], prepared: readonly Prepared[], data: readonly Data[], called: number): Promise<Job<Data, Result>[]> {
    return this.#adding.submit(inputs, prepared, data, called);
  }

  /** The number of partitions (1 for an unpartitioned queue). */
  get partitions(): number {
    return this.#parts?.count ?? 1;
  }

  /** Where each partition lives now: its hash tag, its slot and the server that serves it. Reads only slot maps. */
  async getPartitions(): Promise<PartitionInfo[]> {
    const count = this.partitions;
    const client = this.store.client;
    return Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const tag = partitionTag(this.name, index, count);
        return { index, tag, slot: keySlot(`{${tag}}`), server: await serverFor(client, `{${tag}}`) };
      }),
    );
  }

  /**
   * The job as it is now, or undefined when there is none. A job whose stored fields cannot be read (written
   * by hand, or by a buggy client) is a DecodeError that names what is wrong.
   *
   * @param id - The job's id.
   * @throws {@link ValidationError} for an id that is not a non-empty string; {@link DecodeError}.
   */
  async getJob(id: string): Promise<Job<Data, Result> | undefined> {
    if (typeof id !== 'string' || id.length === 0) throw new ValidationError(`getJob takes a job id string, got ${JSON.stringify(id)}`);
    assertWellFormed('jobId', id, 'it could name another job');
    if (this.#parts !== undefined) return this.#parts.getJob(id);
    return reads.getJob(this.#access, id);
  }

  /**
   * One page of jobs in a state: waiting and active in the order they run, delayed soonest first,
   * completed and failed newest first. `start` and `end` are inclusive, as in ZRANGE. A job whose stored
   * fields cannot be read is left out of the page with a process warning (DecodeError) naming it: one bad
   * record must not hide the others.
   *
   * @param state - One of the five job states.
   * @param start - First position, from 0.
   * @param end - Last position, inclusive: the default page is the first 100 jobs.
   * @throws {@link ValidationError} for an unknown state or a bad range.
   */
  getJobs(state: JobState, start?: number, end?: number): Promise<Job<Data, Result>[]>;
  /**
   * Jobs in a state with a label, a name or a group ({@link JobFilter}): `filter.start` to `filter.end` among
   * the matches. A label is read from the label index, never by going through the state; a group in state
   * `waiting` from the group's waiting set. A name (or a group in another state) is checked on the jobs
   * read, and at most `filter.scanLimit` (10,000) are looked at.
   *
   * @param state - One of the five job states.
   * @param filter - What to match, and which page of the matches.
   * @throws {@link ValidationError} for an unknown state, a bad label, group or range.
   */
  getJobs(state: JobState, filter: JobFilter): Promise<Job<Data, Result>[]>;
  async getJobs(state: JobState, startOrFilter: number | JobFilter = 0, end = 99): Promise<Job<Data, Result>[]> {
    if (!JOB_STATES.includes(state)) throw new ValidationError(`getJobs: state must be one of ${JOB_STATES.join(', ')}, got '${String(state)}'`);
    if (isJobFilter(startOrFilter)) return (await this.findJobs(state, startOrFilter)).jobs;
    assertInteger('getJobs start', startOrFilter, 0);
    assertInteger('getJobs end', end, startOrFilter);
    if (this.#parts !== undefined) return this.#parts.getJobs(state, startOrFilter, end);
    return reads.getJobs(this.#access, state, startOrFilter, end);
  }

  /**
   * @internal getJobs with a filter, and how far it looked (the dashboard says so).
   */
  async findJobs(state: JobState, filter: JobFilter): Promise<{ jobs: Job<Data, Result>[]; looked: number; complete: boolean }> {
    if (!JOB_STATES.includes(state)) throw new ValidationError(`getJobs: state must be one of ${JOB_STATES.join(', ')}, got '${String(state)}'`);
    if (this.#parts !== undefined) throw notForPartitions(this.name, this.#parts.count, 'getJobs with a filter');
    return reads.findJobs(this.#access, state, filter);
  }

  /**
   * The labels jobs of this queue carry now, most used first, each with how many jobs (in any state) carry
   * it: read from the label index, O(limit).
   *
   * @param limit - Most labels listed, 1 to 10,000.
   */
  async getLabels(limit = 100): Promise<LabelUse[]> {
    assertInteger('getLabels limit', limit, 1, 10_000);
    if (this.#parts !== undefined) return [];
    return reads.getLabels(this.#access, limit);
  }

  /** Exact counts, O(priority levels), no scans. While paused, waiting jobs are counted under `paused`. */
  async getCounts(): Promise<Counts> {
    if (this.#parts !== undefined) return this.#parts.getCounts();
    return reads.getCounts(this.#access);
  }

  /**
   * What the metrics exporter reports: counts, waiting per priority level, the oldest waiting job's age,
   * lifetime completed and failed totals. One script call, O(priority levels), no scans.
   */
  async getMetrics(): Promise<QueueMetrics> {
    if (this.#parts !== undefined) return this.#parts.getMetrics();
    return reads.getMetrics(this.#access);
  }

  /**
   * The workers of the queue alive now (their last heartbeat less than 3 heartbeat intervals ago), by host
   * and pid, at most 1,000: one read-only script call (src/worker/heartbeat.ts). With partitions, one call
   * per partition, merged: a partitioned Worker is listed once.
   */
  async getWorkers(): Promise<WorkerInfo[]> {
    if (this.#parts !== undefined) return this.#parts.getWorkers();
    return reads.getWorkers(this.#access);
  }

  /**
   * Jobs completed and failed for good in each of the last `minutes` minutes of Redis' clock (default and at
   * most 180), oldest first, the current minute last; a minute without any is there with 0s. The settle
   * scripts count them once per call (lua/includes/history.lua); this is one read-only script call.
   */
  async getMetricsHistory(options: { minutes?: number } = {}): Promise<MinuteCounts[]> {
    const minutes = assertInteger('getMetricsHistory minutes', options.minutes ?? HISTORY_MINUTES, 1, HISTORY_MINUTES);
    if (this.#parts !== undefined) return this.#parts.getMetricsHistory({ minutes });
    return reads.getMetricsHistory(this.#access, minutes);
  }

  /** Workers stop taking jobs (running ones finish); adds keep working. */
  async pause(): Promise<void> {
    if (this.#parts !== undefined) return this.#parts.pause();
    await this.#access.init();
    await this.store.setPaused(true);
  }

  /** Workers take jobs again after {@link Queue.pause}; workers blocked waiting for jobs wake at once. */
  async resume(): Promise<void> {
    if (this.#parts !== undefined) return this.#parts.resume();
    await this.#access.init();
    await this.store.setPaused(false);
  }

  /**
   * Queue-wide limit, kept in Redis and enforced in the claim script for every worker: in any window of
   * `duration` ms at most `max` jobs start. Takes effect from the next claim of every worker. With
   * partitions, split into one share per partition; a sliding window's shares then follow the load, their
   * sum never above `max` (a smooth limit's stay as split). Setting the same limit again keeps the shares.
   *
   * @throws {@link ValidationError} unless `max` and `duration` are integers >= 1;
   * {@link PartitionedQueueError} when `max` is below the partition count.
   */
  async setRateLimit(limit: RateLimit): Promise<void> {
    const valid = validateRateLimit(limit, 'setRateLimit');
    if (this.#parts !== undefined) return this.#parts.setRateLimit(valid);
    return limits.setRateLimit(this.#access, valid);
  }

  /** Removes the queue-wide rate limit; the next claim of every worker starts jobs without it. */
  async removeRateLimit(): Promise<void> {
    if (this.#parts !== undefined) return this.#parts.removeRateLimit();
    return limits.setRateLimit(this.#access, null);
  }

  /** The queue-wide rate limit kept in Redis, or null when there is none. */
  async getRateLimit(): Promise<RateLimit | null> {
    if (this.#parts !== undefined) return this.#parts.getRateLimit();
    return limits.getRateLimit(this.#access);
  }

  /**
   * Queue-wide concurrency, kept in Redis and enforced in the claim script: at most `concurrency` jobs of
   * the queue run at once, across every worker and process (a Worker's own `concurrency` still bounds it).
   * Takes effect from the next claim of every worker. With partitions, split into one share per partition,
   * and the shares follow the load, their sum never above `concurrency`. Setting the same value again keeps
   * the shares.
   *
   * @throws {@link ValidationError} unless `concurrency` is an integer >= 1; {@link PartitionedQueueError}
   * when it is below the partition count.
   */
  async setConcurrency(concurrency: number): Promise<void> {
    const valid = validateConcurrency(concurrency);
    if (this.#parts !== undefined) return this.#parts.setConcurrency(valid);
    return limits.setConcurrency(this.#access, valid);
  }

  /** Removes the queue-wide concurrency; the rate limit stays. Waiting workers are woken to use it at once. */
  async removeConcurrency(): Promise<void> {
    if (this.#parts !== undefined) return this.#parts.removeConcurrency();
    return limits.setConcurrency(this.#access, null);
  }

  /** The queue-wide concurrency, or null when none is set. */
  async getConcurrency(): Promise<number | null> {
    if (this.#parts !== undefined) return this.#parts.getConcurrency();
    return limits.getConcurrency(this.#access);
  }

  /**
   * Limits for groups: without `group`, the default for every group; with it, that group's own rule,
   * which replaces the default for it. `max` and `duration` bound starts per window, `concurrency` bounds
   * the group's jobs running at once. Takes effect from the next claim of every worker.
   *
   * @param limit - `{ max, duration }`, `{ concurrency }`, or all three.
   * @param group - The group whose own rule this is; without it, the default rule of every group.
   * @throws {@link ValidationError} for a limit without `max`/`duration` or `concurrency`, `max` without
   * `duration` (or the reverse), or an unknown field.
   */
  async setGroupLimit(limit: GroupLimit, group?: string): Promise<void> {
    const valid = validateGroupLimit(limit);
    const name = validateGroupName(group);
    if (this.#parts !== undefined) return this.#parts.setGroupLimit(valid, name);
    return limits.setGroupLimit(this.#access, name, valid);
  }

  /** Removes a group's own rule (it falls back to the default), or, without `group`, the default itself. */
  async removeGroupLimit(group?: string): Promise<void> {
    const name = validateGroupName(group);
    if (this.#parts !== undefined) return this.#parts.removeGroupLimit(name);
    return limits.setGroupLimit(this.#access, name, null);
  }

  /** Every group rule; the default is under the key ''. */
  async getGroupLimits(): Promise<Map<string, GroupLimit>> {
    if (this.#parts !== undefined) return this.#parts.getGroupLimits();
    return limits.getGroupLimits(this.#access);
  }

  /** One group's waiting and running jobs, and its state: idle, ready, throttled (rate) or full (concurrency). */
  async getGroup(group: string): Promise<GroupStatus> {
    const name = validateGroupName(group);
    if (name === '') throw new ValidationError('getGroup takes a group name');
    if (this.#parts !== undefined) return this.#parts.getGroup(name);
    return limits.getGroup(this.#access, name);
  }

  /**
   * Sends the jobs that are failed (or completed) now back to waiting, 1,000 per script call; returns how
   * many. Bounded by the set's size at the call: jobs that fail again meanwhile are not retried twice.
   * Their attempts start again from 0.
   *
   * @param state - Which finished jobs to send back.
   * @param options - `onProgress`, told after each script call (a progress bar).
   */
  async retryJobs(state: 'failed' | 'completed' = 'failed', options: BulkOptions = {}): Promise<number> {
    if (state !== 'failed' && state !== 'completed') {
      throw new ValidationError(`retryJobs: state must be 'failed' or 'completed', got '${String(state)}'`);
    }
    if (this.#parts !== undefined) return this.#parts.retryJobs(state, options);
    return admin.retryJobs(this.#access, state, options);
  }

  /**
   * Creates or changes the recurring schedule `id`: every tick enqueues one job `job`, with the job id
   * `<id>:<tick ms>`, exactly once however many processes fire schedules. Idempotent: the same definition
   * again changes nothing (call it at every boot from every pod); a changed one recomputes the next run.
   * Everything is validated before anything is written. Ticks are fired by every Worker of the queue and
   * by Schedulers, not by the Queue.
   *
   * @param id - The schedule's id, 1 to 200 characters.
   * @param spec - When its ticks fall: `{ cron, tz? }` or `{ every }`, with optional bounds.
   * @param job - The job each tick enqueues; its `opts` go over the Queue's `defaultJobOptions`.
   * @returns The next run and whether anything changed.
   * @throws {@link ValidationError} for a bad id, expression, time zone, interval, bound or job.
   */
  async upsertSchedule(id: string, spec: ScheduleSpec, job: ScheduleJob<Data>): Promise<{
    /** The next run, or null when the schedule has none left (its `limit` or `endAt` reached). */
    next: Date | null;
    /** Whether the definition differed from the stored one: false for an upsert of the same definition. */
    changed: boolean;
  }> {
    validateScheduleId(id);
    if (this.#parts !== undefined) return this.#parts.upsertSchedule(id, spec, job);
    return schedules.upsertSchedule(this.#access, { defaults: this.#defaults, levels: this.#settings.levels, maxPayloadBytes: this.maxPayloadBytes }, id, spec, job);
  }

  /** Every schedule of the queue, by id, with its next run (null once it ended) and runs so far. */
  async getSchedules(): Promise<ScheduleInfo<Data>[]> {
    if (this.#parts !== undefined) return this.#parts.getSchedules();
    return schedules.getSchedules(this.#access);
  }

  /**
   * Deletes a schedule (jobs it already enqueued stay); resolves with whether it existed. Like the reads, it
   * creates no queue: on a queue that does not exist it finds nothing to delete.
   */
  async removeSchedule(id: string): Promise<boolean> {
    validateScheduleId(id);
    if (this.#parts !== undefined) return this.#parts.removeSchedule(id);
    return schedules.removeSchedule(this.#access, id);
  }

  /**
   * Enqueues schedule `id`'s job now, outside its ticks (an operator's "run now"), with the job id
   * `<id>:now:<ms of Redis' clock>`. The schedule's next run and run count stay as they are: its limit
   * counts ticks, not these. Resolves with the job's id, or null when there is no such schedule.
   */
  async runSchedule(id: string): Promise<string | null> {
    validateScheduleId(id);
    if (this.#parts !== undefined) return this.#parts.runSchedule(id);
    return schedules.runSchedule(this.#access, id);
  }

  /**
   * Opens a batch: a set of jobs whose callback jobs are enqueued once every member has settled
   * (src/batches.ts). Add members with the handle's `add` and `addBulk`, from this producer or any other
   * (`queue.batch(id)`), then `seal()` it: `onComplete` is enqueued exactly once when every member has
   * completed or failed for good, `onSuccess` when every member has completed, each in this queue, with the
   * batch's totals added to its data.
   *
   * @param options - {@link BatchOptions}: the batch's id, its callbacks, how long its record is kept once done.
   * @returns The batch's handle.
   * @throws {@link ValidationError} when an option is not acceptable or a batch with that id exists; nothing
   * is written.
   */
  openBatch(options?: BatchOptions): Promise<Batch<Data, Result>> {
    return this.#batchesOf().open(options);
  }

  /**
   * A whole batch in one call: opened with its first 200 members, the rest added 200 per script call, sealed
   * with the last 200 once every other call was written. Up to 200 members, one atomic call.
   *
   * @param jobs - The members, as addBulk takes them (without `jobId`: members' ids are generated).
   * @param options - As openBatch's.
   * @returns The batch's handle.
   * @throws {@link ValidationError} when a member or an option is not acceptable; nothing is written.
   * @throws `BatchIncompleteError` when Redis failed after the batch was opened: it is left open.
   */
  addBatch(jobs: readonly BatchJob<Data>[], options?: BatchOptions): Promise<Batch<Data, Result>> {
    return this.#batchesOf().addAll(jobs, options);
  }

  /**
   * A handle on a batch opened elsewhere (another producer), for adding members and sealing it. No I/O: an
   * unknown batch is refused by the first add or seal.
   *
   * @param id - The batch's id.
   * @returns The batch's handle.
   * @throws {@link ValidationError} when `id` is not a batch id.
   */
  batch(id: string): Batch<Data, Result> {
    return this.#batchesOf().handle(id);
  }

  /**
   * A batch's exact counts (one read of its hash) and whether its callbacks fired. Creates no queue.
   *
   * @param id - The batch's id.
   * @returns Its status, or undefined when there is no such batch (never opened, or its record expired
   * `keepFor` seconds after it was done).
   */
  getBatch(id: string): Promise<BatchStatus | undefined> {
    return this.#batchesOf().status(id);
  }

  #batchesOf(): Batches<Data, Result> {
    // A batch's record and its members' counts live in one slot: not across partitions (yet).
    if (this.#parts !== undefined) throw notForPartitions(this.name, this.#parts.count, 'batches');
    return this.#adding.batches();
  }

  /**
   * Deletes the queue and all its jobs, 1,000 per script call. Refused with JobActiveError while jobs are
   * running, unless `force` (their workers' results are then discarded as lease-lost). Generated ids start
   * again at 1. Unlike the other methods, it does not first check the queue's settings against Redis.
   *
   * @param options - How to treat running jobs.
   * @param options.force - Delete running jobs too; default false.
   * @throws {@link JobActiveError} while jobs run, without `force`.
   */
  async obliterate(options: { force?: boolean } = {}): Promise<void> {
    if (this.#access.closed) throw new ClosedError(`Queue '${this.name}'`);
    if (this.#parts !== undefined) return this.#parts.obliterate(options);
    await admin.obliterate(this.#access, options.force === true);
    this.#access.forget();
  }

  /**
   * Closes the Queue's connection (not an ioredis instance passed as `connection`), once the adds already
   * handed to Redis are answered. Later calls reject with {@link ClosedError}; calling it again does nothing.
   */
  async close(): Promise<void> {
    if (!this.#access.close()) return;
    // Adds already handed to the Adder are sent and answered before the connection goes.
    const answered = this.#adding.answered();
    if (answered !== undefined) await answered;
    await this.#parts?.close();
    await closeConnection(this.#connection);
    untrackOpen(this);
  }

  // Operators' operations (the dashboard, the CLI): bulk clean-up, promotion, and reads of the limits.

  /**
   * Deletes the `state` jobs (completed or failed) that finished more than `olderThanMs` ago on Redis'
   * clock, with their logs, 1,000 per step through the remove-job script; resolves how many it deleted.
   * Jobs that finish meanwhile are newer than the cut and stay.
   *
   * @param state - Which finished jobs to delete.
   * @param olderThanMs - Age in ms since they finished; 0 deletes every one finished by now.
   * @param options - `onProgress`, told after each step (a progress bar).
   */
  async clean(state: 'completed' | 'failed', olderThanMs: number, options: BulkOptions = {}): Promise<number> {
    if (state !== 'completed' && state !== 'failed') throw new ValidationError(`clean: state must be 'completed' or 'failed', got '${String(state)}'`);
    assertInteger('clean olderThanMs', olderThanMs, 0);
    if (this.#parts !== undefined) return this.#parts.clean(state, olderThanMs, options);
    return admin.clean(this.#access, state, olderThanMs, options);
  }

  /**
   * Moves a delayed job (waiting out its delay or a retry's backoff) to waiting now, with a `promoted` event.
   *
   * @param id - The delayed job's id.
   * @throws {@link JobNotFoundError} when there is no such job; {@link JobStateError} when it is not delayed.
   */
  async promoteJob(id: string): Promise<void> {
    if (this.#parts !== undefined) return this.#parts.promoteJob(id);
    await this.#access.inspect();
    await promoteJob(this, id);
  }

  /**
   * Ends a waiting, delayed, blocked or running job for good (job.cancel): failed with `cancelled` or
   * `cancelled: <reason>`, not retried; a running job's ctx.signal aborts in its worker. JobStateError when
   * it already ended, JobNotFoundError when there is no such job.
   */
  async cancel(id: string, reason?: string): Promise<void> {
    if (this.#parts !== undefined) return this.#parts.cancel(id, reason);
    await this.#access.inspect();
    await cancelJob(this, id, reason);
  }

  /**
   * Removes every waiting and delayed job (paused ones too), as `job.remove()` removes one, with a `removed`
   * event each; running jobs finish, and completed and failed ones stay. 1,000 per script call, each atomic:
   * counts are exact after every step. Bounded by the jobs waiting and delayed at the call: jobs added
   * meanwhile may stay. Resolves how many it removed.
   */
  async drain(): Promise<number> {
    if (this.#parts !== undefined) throw notForPartitions(this.name, this.#parts.count, 'drain');
    return admin.drain(this.#access);
  }

  /**
   * Moves every job delayed now to waiting, soonest due first, 1,000 per step; resolves how many it moved.
   * Bounded by the delayed count at the call: jobs delayed meanwhile may stay delayed.
   *
   * @param options - `onProgress`, told after each step (a progress bar).
   */
  async promoteJobs(options: BulkOptions = {}): Promise<number> {
    if (this.#parts !== undefined) return this.#parts.promoteJobs(options);
    return admin.promoteJobs(this.#access, options);
  }

  /**
   * The groups limits hold back now: up to `limit` throttled (soonest free first) and `limit` full ones,
   * each with its waiting and running jobs, and the totals. O(limit) reads.
   *
   * @param limit - Most groups listed of each kind, 1 to 10,000.
   */
  async getLimitedGroups(limit = 100): Promise<LimitedGroups> {
    assertInteger('getLimitedGroups limit', limit, 1, 10_000);
    if (this.#parts !== undefined) return this.#parts.getLimitedGroups(limit);
    return limits.getLimitedGroups(this.#access, limit);
  }

  /** The queue-wide limit, the jobs started in its current window, and a RateLimitError's hold on the queue. */
  async getRateWindow(): Promise<RateWindow> {
    if (this.#parts !== undefined) return this.#parts.getRateWindow();
    return limits.getRateWindow(this.#access);
  }
}

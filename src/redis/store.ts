import { memberBatch } from './batch-store.js';
import { connectionFor, masters, type RedisClient } from './connection.js';
import { ConfigMismatchError, RedisTimeoutError, RedisUnavailableError } from '../errors.js';
import { doneRecord } from './done-record.js';
import { carriedFields, type ClaimedJob, type StoredJob } from './job-fields.js';
import type { ClaimResult, CompleteReply, SettleReply } from './replies.js';
import type { ServerSettings, SettingsSource } from '../durability.js';
import { queueKeys, type QueueKeys } from '../keys.js';
import { Cluster } from 'ioredis';
import type { Keep } from '../options.js';
import type { GroupLimit, GroupStatus, RateLimit } from '../queue-settings.js';
import type { Counts, JobState, QueueMetrics } from '../states.js';
import { redisFailure, throwRedisFailure } from './failures.js';
import { burstArg, groupLimitOf, groupRuleText, queueLimitsOf } from './limit-rules.js';
import { registerQueue, unregisterQueue } from './registry.js';
import { idFloor } from '../partitions/routing.js';
import { lengthPrefixed } from './packed.js';
import { runScript, type ScriptKeys } from './scripts.js';
import { Status, type StatusCode } from './status.js';

/**
 * The store: every verb sluice needs from Redis, one typed function each, mirroring the Lua scripts one to
 * one (plus a few plain reads). Queue, Worker, Job and QueueEvents call these; none of them speaks Redis.
 * Replies come decoded by each script's decoder (scripts.ts, replies.ts).
 */

/** The one consumer group of every level stream. */
export const GROUP = 'sluice';

export interface AddInput {
  /** '' to let Redis generate a numeric id. */
  jobId: string;
  name: string;
  data: Buffer;
  opts: Buffer;
  prio: number;
  delay: number;
  runAt: number;
  /** '' for none. */
  group: string;
  /** The job's labels joined by line breaks (src/labels.ts packLabels); undefined for none. */
  labels?: string | undefined;
}

/** One job of an add-flow call (lua/add-flow.lua's per-job values); `deps` are its refs ('L<n>', 'E<id>', ...). */
export interface FlowInput {
  key: string;
  /** '' for the store's own queue, else another queue of its prefix. */
  queue: string;
  jobId: string;
  name: string;
  data: Buffer;
  opts: Buffer;
  prio: number;
  grp: string;
  policy: 'fail' | 'ignore' | 'remove' | 'onfail';
  deps: (string | Buffer)[];
}

/** One part of a flow across Cluster slots, as add-flow takes it (lua/add-flow.lua's `flow` and `links`). */
export interface FlowPart {
  /** The flow's id. */
  flow: string;
  /** The queue of the flow's last part when jobs of this part wait for later parts, else ''. */
  last: string;
  /** In the last part: the queues whose parts wait, each told by a note that the flow is whole. */
  done: readonly string[];
  /** Jobs of earlier parts that wait for jobs of this queue: 'L<n>' or 'E<id>', and the dependents-set member. */
  links: readonly { dependency: string; member: string }[];
}

/**
 * A settle carries the delivery as claim handed it: its entry is the fencing token, and its fields are what
 * the settle scripts write back (a completed job's record, a retry's new entry) without reading the entry.
 */
export interface CompleteInput {
  job: ClaimedJob;
  result: Buffer;
  keep: Keep;
  /** The job's progress when its handler recorded one (kept in its completed record). */
  progress?: Buffer;
  /** The job has the dedupe option: complete releases its key (sent as `hashed` 2, lua/complete.lua). */
  dedupe?: boolean;
  /** The job has labels: complete moves its index entries (`hashed` + 3, lua/complete.lua). */
  labels?: boolean;
  /** Its process span's context, encoded, for the jobs of its flow that wait for it (done-record.ts). */
  trace?: Buffer;
}

/** What a complete call also claims (lua/complete.lua): up to `count` jobs for `consumer`, as claim does. */
export interface ClaimAlong {
  consumer: string;
  count: number;
  promoteLimit: number;
  /** The handoff argument (src/worker/handoff.ts, lua/claim.lua's `wait`); '0' when not given. */
  wait?: string;
}

export interface FailInput {
  job: ClaimedJob;
  /** -1 fail for good, 0 requeue now, > 0 retry after that many ms. */
  retryDelay: number;
  reason: string;
  stack: string;
  keep: Keep;
  /** The job has the dedupe option: failing it for good releases its key (sent as retryDelay -2, lua/fail.lua). */
  dedupe?: boolean;
  /** The job has labels: failing it for good moves its index entries (retryDelay -3, or -4 with dedupe). */
  labels?: boolean;
  /**
   * Its process span's context, for a job others of its traced flow wait for, failed for good: the waiting
   * jobs' spans link to it (retryDelay 4 lower, the context behind the stack: lua/includes/dependents.lua).
   */
  trace?: Buffer;
}

export interface ReleaseInput {
  job: ClaimedJob;
  /** ms to hold the job's group (or the queue, for an ungrouped job) before anything of it starts. */
  holdMs: number;
}

/**
 * complete's `hashed` digit as it is for a job outside a batch; a batch member's is 'b', the digit, and its
 * batch's id (lua/complete.lua, lua/includes/batches.lua); a job whose record carries its process span's
 * context (`traced`, done-record.ts) 't' and the digit (lua/includes/dependents.lua): the script's one
 * compare for a job with no dedupe and no labels lets them through. A member is never in a flow, so never
 * traced for one.
 */
function withExtras(hashed: number, opts: Buffer, traced: boolean): number | string {
  const batch = memberBatch(opts);
  if (batch !== '') return `b${hashed}${batch}`;
  return traced ? `t${hashed}` : hashed;
}

/** The storage format these scripts read and write (lua/init.lua FORMAT). */
const STORAGE_FORMAT = 3;

export class QueueStore implements SettingsSource {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
    /** Events kept in the events stream (0: none); other stores of the queue write events as this one does. */
    readonly eventsMaxLen: number,
  ) {}

  private get base(): string {
    return this.keys.base;
  }

  /** The two key bundles most scripts take last. */
  private get tail(): { groups: readonly string[]; streams: readonly string[] } {
    return { groups: this.keys.groups, streams: this.keys.streams };
  }

  /**
   * Creates the queue (or checks the one there), then records it in the prefix's registry. A partition
   * p >= 1 first makes (or checks) partition 0, which holds the queue's record where every reader looks
   * for it, and starts its own id counter at its floor (src/partitions/routing.ts) when the counter is not
   * there yet.
   */
  async init(levels: number): Promise<void> {
    const { index, firstMeta, firstStreams } = this.keys.partition;
    if (index > 0) await this.#initScript(levels, true, firstMeta, firstStreams);
    await this.#initScript(levels, true);
    if (index > 0) await this.client.set(this.keys.id, idFloor(index), 'NX');
    await registerQueue(this.client, this.keys);
  }

  /** After obliterate: the queue leaves the registry (its next init records it again). */
  unregister(): Promise<void> {
    return unregisterQueue(this.client, this.keys);
  }

  /**
   * Checks an existing queue's levels and storage format as init does, writing nothing; resolves false when
   * the queue does not exist (never initialised, or obliterated). For reads, which must not create a queue.
   */
  async check(levels: number): Promise<boolean> {
    if (this.keys.partition.index > 0) await this.#initScript(levels, false, this.keys.partition.firstMeta);
    return (await this.#initScript(levels, false)) === Status.OK;
  }

  async #initScript(levels: number, create: boolean, meta = this.keys.meta, streams = this.keys.streams): Promise<StatusCode> {
    const partitions = this.keys.partition.count;
    const { status, recorded } = create
      ? await runScript(this.client, 'init', { meta, streams }, { group: GROUP, levels, partitions })
      : await runScript(this.client, 'check', { meta }, { levels, partitions });
    if (status === Status.FORMAT_MISMATCH) {
      throw new ConfigMismatchError(
        `queue '${this.keys.base}' was written in sluice's storage format ${recorded}, and this version reads format ${STORAGE_FORMAT} ` +
          `(jobs in their stream entries, fields named as in lua/includes/job-fields.lua); drain it with the sluice version that ` +
          `wrote it, or obliterate it`,
      );
    }
    if (status === Status.PARTITIONS_MISMATCH) {
      throw new ConfigMismatchError(
        `queue '${this.keys.name}' was created with partitions ${recorded} but this instance says ${partitions}; ` +
          `use the same partitions everywhere, or drain and obliterate the queue to change it`,
      );
    }
    if (status === Status.LEVELS_MISMATCH) {
      throw new ConfigMismatchError(
        `queue '${this.keys.base}' was created with priorityLevels ${recorded} but this instance says ${levels}; ` +
          `use the same priorityLevels everywhere, or obliterate the queue to change it`,
      );
    }
    return status;
  }

  /** The add script's keys, the same for every call: built once, as add is the producer's hot path. */
  #addKeys: ScriptKeys<'add'> | undefined;

  /** `spentMs`: time the producer spent since its add() call (see lua/add.lua); delays count from the call. */
  add(jobs: readonly AddInput[], spentMs = 0): Promise<{ id: string; duplicate: boolean }[]> {
    this.#addKeys ??= { id: this.keys.id, meta: this.keys.meta, delayed: this.keys.delayed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail };
    const args = { base: this.base, eventsMaxLen: this.eventsMaxLen, spent: spentMs, count: jobs.length };
    // A call with a labeled job goes whole to add-labeled (add.lua and its order, plus the index), so add.lua
    // keeps no label code: an add without labels pays a scan of its call's inputs here and nothing in Redis.
    if (jobs.some((job) => job.labels !== undefined)) {
      return runScript<'add-labeled'>(this.client, 'add-labeled', this.#addKeys, args, jobs.map((job) => ({ ...job, labels: job.labels ?? '' })));
    }
    return runScript(this.client, 'add', this.#addKeys, args, jobs);
  }

  /**
   * Jobs with dependencies, all or none (lua/add-flow.lua); src/flows.ts orders and checks them first. `part`:
   * one part of a flow across Cluster slots (src/flows-across-slots.ts).
   */
  addFlow(jobs: readonly FlowInput[], maxDependents: number, part?: FlowPart): Promise<{ ids: string[] } | { refused: StatusCode; detail: string }> {
    const { id, meta, failed, events, ctl } = this.keys;
    const flow = part === undefined ? '' : lengthPrefixed([part.flow, part.last, ...part.done]);
    const links = part === undefined ? '' : lengthPrefixed(part.links.flatMap(({ dependency, member }) => [dependency, member]));
    return runScript(
      this.client,
      'add-flow',
      { id, meta, failed, events, ctl, ...this.tail },
      { base: this.base, group: GROUP, eventsMaxLen: this.eventsMaxLen, maxDependents, flow, links },
      jobs.map((job) => ({ ...job, deps: lengthPrefixed(job.deps) })),
    );
  }

  /** Another queue of this prefix: its priority levels, or null when it does not exist. */
  async levelsOf(queue: string): Promise<number | null> {
    const levels = await this.client.hget(queueKeys(queue, this.keys.prefix, 1).meta, 'levels');
    return levels === null ? null : Number(levels);
  }

  /** The connection is a Redis Cluster. */
  get clustered(): boolean {
    return this.client instanceof Cluster;
  }

  /** Job `id`'s dependencies as its deps hash holds them ('{queue}id' -> packed outcome, key, value). */
  getDependencies(id: string): Promise<Record<string, Buffer>> {
    return this.client.hgetallBuffer(this.keys.deps(id));
  }

  /** `wait`: the handoff argument (lua/claim.lua); '0' neither registers nor ends a wait. */
  claim(consumer: string, count: number, promoteLimit: number, wait = '0'): Promise<ClaimResult> {
    const { id, meta, delayed, failed, events, ctl, rate } = this.keys;
    return runScript(
      this.client,
      'claim',
      { id, meta, delayed, failed, events, ctl, rate, ...this.tail },
      { base: this.base, group: GROUP, consumer, count, eventsMaxLen: this.eventsMaxLen, promoteLimit, wait },
    );
  }

  /**
   * With `claim`, the same call then claims as claim() does; its reply is `claimed`. `by`: the consumer that
   * ran the jobs, kept in their records (processedBy).
   */
  complete(jobs: readonly CompleteInput[], claim?: ClaimAlong, by = ''): Promise<CompleteReply> {
    const { id, meta, delayed, failed, completed, events, ctl, rate } = this.keys;
    return runScript(
      this.client,
      'complete',
      { id, meta, delayed, failed, completed, events, ctl, rate, ...this.tail },
      {
        base: this.base,
        group: GROUP,
        eventsMaxLen: this.eventsMaxLen,
        consumer: claim?.consumer ?? '',
        count: claim?.count ?? 0,
        promoteLimit: claim?.promoteLimit ?? 0,
        wait: claim?.wait ?? '0',
      },
      jobs.map(({ job, result, keep, progress, dedupe, labels, trace }) => ({
        id: job.id,
        entry: job.entry,
        level: job.stream,
        keepCount: keep.count,
        keepAge: keep.age,
        group: job.group,
        // Deleted at once (keep count 0): no record to send, and no trace to pass on.
        record: keep.count === 0 ? '' : doneRecord(job, result, progress, by, trace),
        result: this.eventsMaxLen > 0 ? result : '',
        // A deduplicated job always has a hash (its dedupe key is in it).
        hashed: withExtras((dedupe === true ? 2 : job.hashed || progress !== undefined ? 1 : 0) + (labels === true ? 3 : 0), job.opts, trace !== undefined && keep.count !== 0),
      })),
    );
  }

  /** `by`: the consumer that ran the attempts, kept with the jobs that fail for good (processedBy). */
  fail(jobs: readonly FailInput[], by = ''): Promise<SettleReply> {
    const { id, meta, delayed, failed, events, ctl } = this.keys;
    return runScript(
      this.client,
      'fail',
      { id, meta, delayed, failed, events, ctl, ...this.tail },
      { base: this.base, group: GROUP, eventsMaxLen: this.eventsMaxLen, by },
      jobs.map(({ job, retryDelay, reason, stack, keep, dedupe, labels, trace }) => ({
        id: job.id,
        entry: job.entry,
        level: job.stream,
        retryDelay: retryDelay < 0 ? failFlags(dedupe === true, labels === true, trace !== undefined) : retryDelay,
        reason,
        stack: retryDelay < 0 && trace !== undefined ? lengthPrefixed([stack, trace]) : stack,
        keepCount: keep.count,
        keepAge: keep.age,
        ...carriedFields(job),
        pon: job.processedOn,
      })),
    );
  }

  release(jobs: readonly ReleaseInput[]): Promise<SettleReply> {
    return runScript(
      this.client,
      'release',
      { meta: this.keys.meta, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, group: GROUP, eventsMaxLen: this.eventsMaxLen },
      jobs.map(({ job, holdMs }) => ({
        id: job.id,
        entry: job.entry,
        level: job.stream,
        holdMs,
        ...carriedFields(job),
        err: job.failedReason,
        stack: job.stacktrace,
      })),
    );
  }

  /** `strays`: entries it acknowledged that held no job (written by hand), for the caller to report. */
  recoverStalled(reaper: string, idleMs: number, maxStalled: number, limit: number): Promise<{ requeued: number; failed: number; strays: string[] }> {
    return runScript(
      this.client,
      'recover-stalled',
      { id: this.keys.id, meta: this.keys.meta, failed: this.keys.failed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, group: GROUP, reaper, idleMs, maxStalled, limit, eventsMaxLen: this.eventsMaxLen },
    );
  }

  /**
   * `held`: the deliveries this consumer runs; returns the entries of those it no longer holds. `beat`: the
   * worker's heartbeat (src/worker/heartbeat.ts); without one (ttl 0) the worker leaves the registry.
   */
  extendLeases(consumer: string, held: readonly { stream: number; entry: string }[], beat = { ttl: 0, info: '' }): Promise<string[]> {
    return runScript(
      this.client,
      'extend-leases',
      { workers: this.keys.workers, workerInfo: this.keys.workerInfo, streams: this.keys.streams },
      { group: GROUP, consumer, beatTtl: beat.ttl, info: beat.info },
      held.map(({ stream, entry }) => ({ level: stream, entry })),
    );
  }

  setPaused(paused: boolean): Promise<void> {
    return runScript(
      this.client,
      'pause',
      { meta: this.keys.meta, ctl: this.keys.ctl, events: this.keys.events },
      { paused: paused ? 1 : 0, eventsMaxLen: this.eventsMaxLen },
    );
  }

  removeJob(id: string): Promise<StatusCode> {
    const { meta, delayed, completed, failed, events, ctl } = this.keys;
    return runScript(
      this.client,
      'remove-job',
      { id: this.keys.id, meta, delayed, completed, failed, events, ctl, ...this.tail },
      { base: this.base, group: GROUP, id, eventsMaxLen: this.eventsMaxLen },
    );
  }

  retryJob(id: string): Promise<StatusCode> {
    const { meta, failed, completed, events, ctl } = this.keys;
    return runScript(
      this.client,
      'retry-job',
      { id: this.keys.id, meta, failed, completed, events, ctl, ...this.tail },
      { base: this.base, group: GROUP, id, eventsMaxLen: this.eventsMaxLen },
    );
  }

  /** `skip`: jobs at the front of the set to pass over (the corrupt ones an earlier call left there). */
  retryJobs(state: 'failed' | 'completed', limit: number, skip: number): Promise<{ looked: number; revived: number; stayed: number }> {
    return runScript(
      this.client,
      'retry-jobs',
      { id: this.keys.id, meta: this.keys.meta, set: state === 'failed' ? this.keys.failed : this.keys.completed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, limit, eventsMaxLen: this.eventsMaxLen, completed: state === 'completed' ? 1 : 0, skip },
    );
  }

  /** Returns JOB_ACTIVE, or the number of jobs this step deleted (0: the queue is gone). */
  obliterate(force: boolean, limit: number): Promise<number> {
    const { meta, id, delayed, completed, failed, events, ctl, rate, schedules, scheduleNext, scheduleRuns } = this.keys;
    return runScript(
      this.client,
      'obliterate',
      { meta, id, delayed, completed, failed, events, ctl, rate, schedules, scheduleNext, scheduleRuns, ...this.tail },
      { base: this.base, force: force ? 1 : 0, limit },
    );
  }

  getCounts(): Promise<Counts> {
    return runScript(
      this.client,
      'get-counts',
      { meta: this.keys.meta, delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, ...this.tail },
      { base: this.base },
    );
  }

  getMetrics(): Promise<QueueMetrics> {
    return runScript(
      this.client,
      'metrics',
      { meta: this.keys.meta, delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, ...this.tail },
      { base: this.base, group: GROUP },
    );
  }

  /** Resolves when Redis answers PING. */
  async ping(): Promise<void> {
    await this.client.ping();
  }

  /** One page of jobs in a state, each as its home holds it (a corrupt one with `corrupt` set). */
  getJobs(state: JobState, start: number, stop: number): Promise<StoredJob[]> {
    return runScript(
      this.client,
      'get-jobs',
      { delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, ...this.tail },
      { base: this.base, group: GROUP, state, start, stop },
    );
  }

  /** null removes the queue-wide limit (the queue's concurrency stays). */
  setRateLimit(limit: RateLimit | null): Promise<void> {
    const keys = { meta: this.keys.meta, ctl: this.keys.ctl, rate: this.keys.rate };
    return runScript(this.client, 'set-rate-limit', keys, { max: limit?.max ?? 0, duration: limit?.duration ?? 0, burst: burstArg(limit) });
  }

  /** The queue's rate limit and concurrency, as meta holds them (limit-rules.ts). */
  async queueLimits(): Promise<{ rate: RateLimit | null; concurrency: number | null }> {
    const [max, duration] = await this.client.hmget(this.keys.meta, 'rlmax', 'rldur');
    return queueLimitsOf(max ?? null, duration ?? null);
  }

  async getRateLimit(): Promise<RateLimit | null> {
    return (await this.queueLimits()).rate;
  }

  /** null removes the queue's concurrency (its rate limit stays). */
  setConcurrency(concurrency: number | null): Promise<void> {
    return runScript(this.client, 'set-concurrency', { meta: this.keys.meta, ctl: this.keys.ctl }, { concurrency: concurrency ?? 0 });
  }

  /** group '' is the default of every group; null removes the rule. */
  setGroupLimit(group: string, limit: GroupLimit | null): Promise<void> {
    const rule = limit === null ? '' : groupRuleText(limit);
    return runScript(this.client, 'set-group-limit', { ctl: this.keys.ctl, groups: this.keys.groups }, { group, rule });
  }

  /** Every group rule, by group ('' is the default). */
  async getGroupLimits(): Promise<Map<string, GroupLimit>> {
    const rules = await this.client.hgetall(this.keys.groups[5]);
    return new Map(Object.entries(rules).map(([group, rule]) => [group, groupLimitOf(rule)]));
  }

  /** A group's waiting and running jobs, and whether a limit holds it back right now. */
  async getGroup(group: string): Promise<GroupStatus> {
    const [, state, , , active] = this.keys.groups;
    const [waiting, running, current] = await Promise.all([
      this.client.zcard(this.keys.groupWait(group)),
      this.client.hget(active, group),
      this.client.hget(state, group),
    ]);
    return { waiting, active: Number(running ?? 0), state: (current ?? 'idle') as GroupStatus['state'] };
  }

  /** The job wherever it is: its hash, its completed record, or its stream entry. */
  getJob(id: string): Promise<StoredJob | null> {
    return runScript(this.client, 'get-job', { completed: this.keys.completed, streams: this.keys.streams }, { base: this.base, group: GROUP, id });
  }

  updateProgress(id: string, progress: Buffer): Promise<StatusCode> {
    return runScript(
      this.client,
      'progress',
      { events: this.keys.events, streams: this.keys.streams },
      { base: this.base, group: GROUP, id, progress, eventsMaxLen: this.eventsMaxLen },
    );
  }

  /** Returns the number of lines kept, or JOB_MISSING. */
  addLog(id: string, line: string, keep: number): Promise<number> {
    return runScript(this.client, 'log', { logs: this.keys.logs(id), streams: this.keys.streams }, { base: this.base, group: GROUP, id, line, keep });
  }

  async getLogs(id: string, start: number, stop: number): Promise<string[]> {
    return this.client.lrange(this.keys.logs(id), start, stop);
  }

  /**
   * The settings that decide whether Redis may lose jobs, per server that can hold the queue (the Redis,
   * or every master of a cluster); `{ unreadable }` with Redis' answer when CONFIG is not allowed (managed
   * Redis services often rename or disable it, an ACL may refuse it): then nothing can be checked.
   */
  async durabilitySettings(): Promise<ServerSettings[] | { unreadable: string }> {
    try {
      return await Promise.all(
        (await masters(this.client)).map(async ({ server, node }) => {
          const read = async (name: string): Promise<string> => (await node.config('GET', name))[1] ?? '';
          const [maxmemoryPolicy, appendonly, save] = await Promise.all([read('maxmemory-policy'), read('appendonly'), read('save')]);
          return { server, maxmemoryPolicy, appendonly, save };
        }),
      );
    } catch (error) {
      // Refused (an ACL) or not there (renamed, disabled); anything else (the connection) is a failure.
      if (error instanceof Error && /^(NOPERM|ERR unknown command)/i.test(error.message)) return { unreadable: error.message };
      throw redisFailure(error);
    }
  }

  /**
   * Redis WAIT: blocks until `replicas` replicas acknowledged every write this connection made so far, or
   * `timeoutMs` passed; returns how many did.
   */
  async waitForReplicas(replicas: number, timeoutMs: number): Promise<number> {
    // WAIT counts the writes of the connection it is sent on; a Cluster would send it to any node, so it
    // goes on the node connection that ran the adds: the one to the master of the queue's slot.
    const connection = connectionFor(this.client, this.keys.meta) ?? this.client;
    return connection.wait(replicas, timeoutMs).catch((error: unknown) => {
      // The adds were answered; only their replication is unknown when the WAIT is cut short: the master
      // turned replica in a failover (UNBLOCKED while it waited; "WAIT cannot be used with replica
      // instances" when it turned between the adds' reply and the WAIT), or its connection went. Then no
      // replica confirmed them: the caller's ReplicationError says so, where a connection error would say
      // nothing was written.
      const failure = redisFailure(error);
      if (failure instanceof RedisUnavailableError || failure instanceof RedisTimeoutError) return 0;
      if (error instanceof Error && /^UNBLOCKED|WAIT cannot be used with replica/.test(error.message)) return 0;
      throw failure;
    });
  }

  // Reads and admin steps for operators (dashboard, CLI); none is on a worker's path.

  /** Redis' clock (ms): ages are measured on the clock the scripts stamp jobs with. */
  async time(): Promise<number> {
    const [seconds = 0, micros = 0] = (await this.client.time().catch(throwRedisFailure)).map(Number);
    return seconds * 1000 + Math.floor(micros / 1000);
  }

  /** Up to `count` ids of `state` jobs that finished at or before `before` (ms), oldest first, past the first `skip`. */
  finishedBefore(state: 'completed' | 'failed', before: number, skip: number, count: number): Promise<string[]> {
    const set = state === 'completed' ? this.keys.completed : this.keys.failed;
    return this.client.zrangebyscore(set, '-inf', before, 'LIMIT', skip, count).catch(throwRedisFailure);
  }

  /** How many `state` jobs finished at or before `before` (ms): what a clean to that cut looks at. */
  countFinishedBefore(state: 'completed' | 'failed', before: number): Promise<number> {
    const set = state === 'completed' ? this.keys.completed : this.keys.failed;
    return this.client.zcount(set, '-inf', before).catch(throwRedisFailure);
  }

  /** The `count` delayed jobs due soonest. */
  soonestDelayed(count: number): Promise<string[]> {
    return this.client.zrange(this.keys.delayed, 0, String(count - 1)).catch(throwRedisFailure);
  }

  /** A delayed job's due time (ms), or null when it is not delayed. */
  async dueTime(id: string): Promise<number | null> {
    const score = await this.client.zscore(this.keys.delayed, id).catch(throwRedisFailure);
    return score === null ? null : Number(score);
  }

  /**
   * Makes delayed jobs due now, for promote-delayed to move them (it moves due jobs only): their due time
   * becomes 0, the only state they change. `XX` leaves alone an id no longer delayed (promoted, removed
   * meanwhile). Resolves how many jobs are due at 0 now, these and any another call made due: the limit
   * for the promote-delayed call that follows, so the whole front is moved.
   */
  async makeDue(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const members = ids.flatMap((id) => ['0', id]);
    const [, zeros] = await Promise.all([
      this.client.zadd(this.keys.delayed, 'XX', ...members),
      this.client.zcount(this.keys.delayed, '-inf', 0),
    ]).catch(throwRedisFailure);
    return zeros;
  }

  /** Jobs started under the queue-wide limit since `since` (ms): the rate log's current window. */
  startedSince(since: number): Promise<number> {
    return this.client.zcount(this.keys.rate, `(${since}`, '+inf').catch(throwRedisFailure);
  }

  /** Until when a RateLimitError holds the whole queue (ms), or null. */
  async queueHold(): Promise<number | null> {
    const hold = await this.client.hget(this.keys.meta, 'hold').catch(throwRedisFailure);
    return hold === null ? null : Number(hold);
  }

  /**
   * Groups that limits hold back: the `limit` throttled ones due soonest (with when they may start) and up
   * to `limit` full ones (SSCAN, at most `limit` / 10 + 1 steps), with the totals of each and of the groups
   * that have work.
   */
  async heldGroups(limit: number): Promise<{ throttled: { group: string; until: number }[]; full: string[]; throttledTotal: number; fullTotal: number; withWork: number }> {
    const [, state, throttledKey, fullKey] = this.keys.groups;
    const [soonest, throttledTotal, fullTotal, withWork] = await Promise.all([
      this.client.zrange(throttledKey, 0, String(limit - 1), 'WITHSCORES'),
      this.client.zcard(throttledKey),
      this.client.scard(fullKey),
      this.client.hlen(state),
    ]).catch(throwRedisFailure);
    const throttled: { group: string; until: number }[] = [];
    for (let i = 0; i + 1 < soonest.length; i += 2) throttled.push({ group: soonest[i] as string, until: Number(soonest[i + 1]) });
    const full = new Set<string>();
    let cursor = '0';
    for (let step = 0; step <= limit / 10 && full.size < limit; step++) {
      const [next, found] = await this.client.sscan(fullKey, cursor, 'COUNT', 10).catch(throwRedisFailure);
      for (const group of found) if (full.size < limit) full.add(group);
      cursor = next;
      if (cursor === '0') break;
    }
    return { throttled, full: [...full].sort(), throttledTotal, fullTotal, withWork };
  }
}

/** What fail.lua takes for a job failed for good: -1, -2 (release its dedupe key), -3 (move its labels), -4 (both). */
function failFlags(dedupe: boolean, labels: boolean, traced: boolean): number {
  return -1 - (dedupe ? 1 : 0) - (labels ? 2 : 0) - (traced ? 4 : 0);
}

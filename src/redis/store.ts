import { connectionFor, masters, type RedisClient } from './connection.js';
import { ConfigMismatchError, ScriptError } from '../errors.js';
import { doneRecord } from './done-record.js';
import { entryJob, freshJob, type EntryJob } from './entries.js';
import { num, statuses, str, type Reply } from './replies.js';
import { readView, VIEW_SIZE } from './views.js';
import type { QueueKeys } from '../keys.js';
import type { Keep } from '../options.js';
import { throwRedisFailure } from './failures.js';
import { runScript } from './scripts.js';
import { Status, type StatusCode } from './status.js';

/**
 * The store: every verb sluice needs from Redis, one typed function each, mirroring the Lua scripts one to
 * one (plus a few plain reads). Queue, Worker, Job and QueueEvents call these; none of them speaks Redis.
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
}

/** A job as claim hands it out: its entry, read (src/redis/entries.ts), and when this attempt started. */
export interface ClaimedJob extends EntryJob {
  processedOn: number;
}

export type ClaimResult =
  | { kind: 'jobs'; jobs: ClaimedJob[] }
  | { kind: 'empty' | 'paused'; nextDueMs: number; ctlId: string; waitIds: string[] }
  | { kind: 'needs-init' };

/**
 * A settle carries the delivery as claim handed it: its entry is the fencing token, and its fields are what
 * the settle scripts write back (a completed job's hash, a retry's new entry) without reading the entry.
 */
export interface CompleteInput {
  job: ClaimedJob;
  result: Buffer;
  keep: Keep;
  /** The job's progress when its handler recorded one (kept in its completed record). */
  progress?: Buffer;
}

export interface FailInput {
  job: ClaimedJob;
  /** -1 fail for good, 0 requeue now, > 0 retry after that many ms. */
  retryDelay: number;
  reason: string;
  stack: string;
  keep: Keep;
}

export interface ReleaseInput {
  job: ClaimedJob;
  /** ms to hold the job's group (or the queue, for an ungrouped job) before anything of it starts. */
  holdMs: number;
}

export interface Counts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** Jobs waiting while the queue is paused (then `waiting` is 0). */
  paused: number;
  /** Waiting jobs (counted in `waiting` or `paused`) whose group is held back by its limits right now. */
  limited: number;
}

/**
 * What the metrics exporter reports for a queue: one script call, O(priority levels), no scans. The
 * counts are as in Counts (completed and failed: the jobs still kept, as retention decides).
 */
export interface QueueMetrics extends Omit<Counts, 'limited'> {
  isPaused: boolean;
  /** Ungrouped jobs waiting on each priority level (index = level), paused or not. */
  waitingByLevel: number[];
  /** Grouped jobs waiting in their groups, paused or not (their level is not tracked per group). */
  waitingGrouped: number;
  /** Waiting jobs whose group a limit holds back; null when more than 1,000 groups are held (not counted). */
  limited: number | null;
  /** Groups held back by a rate window, a hold or their concurrency. */
  limitedGroups: number;
  /** How long the oldest ungrouped waiting job has been ready, in ms; null when none waits. */
  oldestWaitingMs: number | null;
  /** Jobs completed since the queue was created (counted by the settle scripts; reset by obliterate). */
  completedTotal: number;
  /** Jobs failed for good (attempts used up, or stalled too often) since the queue was created. */
  failedTotal: number;
}

export interface RateLimit {
  /** At most this many jobs start... */
  max: number;
  /** ...in any window of this many ms. */
  duration: number;
}

export interface GroupStatus {
  /** Jobs of the group waiting to be admitted. */
  waiting: number;
  /** Jobs of the group running (admitted, not settled yet). */
  active: number;
  /** idle: nothing waiting; ready: served in turn; throttled: its rate window or a hold; full: its concurrency. */
  state: 'idle' | 'ready' | 'throttled' | 'full';
}

export interface GroupLimit {
  /** At most `max` of the group's jobs start in any window of `duration` ms. */
  max?: number;
  duration?: number;
  /** At most this many of the group's jobs run at once. */
  concurrency?: number;
}

/** One server's settings that decide whether it may lose jobs (see src/durability.ts). */
export interface ServerSettings {
  /** `host:port` */
  server: string;
  maxmemoryPolicy: string;
  appendonly: string;
  save: string;
}

export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed';
export type RawJob = ReadonlyMap<string, Buffer>;

/** What fail and release write back of a delivery: the job as claim handed it (its new entry or hash). */
function carried(job: ClaimedJob): { name: string; data: Buffer; opts: Buffer; ts: number; prio: number; group: string; ats: number; atm: number; stalls: number } {
  return {
    name: job.name,
    data: job.data,
    opts: job.opts,
    ts: job.timestamp,
    prio: job.priority,
    group: job.group,
    ats: job.attemptsStarted,
    atm: job.attemptsMade,
    stalls: job.stalls,
  };
}

export class QueueStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
    private readonly eventsMaxLen: number,
  ) {}

  private get base(): string {
    return this.keys.base;
  }

  /** The two key bundles most scripts take last. */
  private get tail(): { groups: readonly string[]; streams: readonly string[] } {
    return { groups: this.keys.groups, streams: this.keys.streams };
  }

  async init(levels: number): Promise<void> {
    const reply = (await runScript(this.client, 'init', { meta: this.keys.meta, streams: this.keys.streams }, { group: GROUP, levels })) as number[];
    if (reply[0] === Status.FORMAT_MISMATCH) {
      throw new ConfigMismatchError(
        `queue '${this.keys.base}' was written in sluice's storage format ${reply[1]}, and this version reads format 2 ` +
          `(jobs in their stream entries); drain it with the sluice version that wrote it, or obliterate it`,
      );
    }
    if (reply[0] === Status.LEVELS_MISMATCH) {
      throw new ConfigMismatchError(
        `queue '${this.keys.base}' was created with priorityLevels ${reply[1]} but this instance says ${levels}; ` +
          `use the same priorityLevels everywhere, or obliterate the queue to change it`,
      );
    }
  }

  /** `spentMs`: time the producer spent since its add() call (see lua/add.lua); delays count from the call. */
  async add(jobs: readonly AddInput[], spentMs = 0): Promise<{ id: string; duplicate: boolean }[]> {
    const reply = (await runScript(
      this.client,
      'add',
      { id: this.keys.id, meta: this.keys.meta, delayed: this.keys.delayed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, eventsMaxLen: this.eventsMaxLen, spent: spentMs, count: jobs.length },
      jobs,
    )) as (string | number)[];
    const out: { id: string; duplicate: boolean }[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      out.push({ id: String(reply[i]), duplicate: reply[i + 1] === Status.DUPLICATE });
    }
    return out;
  }

  async claim(consumer: string, count: number, promoteLimit: number): Promise<ClaimResult> {
    const reply = (await runScript(
      this.client,
      'claim',
      { id: this.keys.id, meta: this.keys.meta, delayed: this.keys.delayed, events: this.keys.events, ctl: this.keys.ctl, rate: this.keys.rate, ...this.tail },
      { base: this.base, group: GROUP, consumer, count, eventsMaxLen: this.eventsMaxLen, promoteLimit },
    )) as Reply[];
    const status = reply[0];
    if (status === Status.NEEDS_INIT) return { kind: 'needs-init' };
    if (status === Status.OK) {
      const n = num(reply[1]);
      const processedOn = num(reply[2]);
      const jobs: ClaimedJob[] = [];
      for (let i = 0, o = 3; i < n; i++) {
        const entry = str(reply[o]);
        const stream = num(reply[o + 1]);
        const fields = reply[o + 2];
        // A full-layout entry comes as its field array, a fresh one as its four values (lua/claim.lua).
        let job: ClaimedJob;
        if (Array.isArray(fields)) {
          job = entryJob(entry, stream, fields, true) as ClaimedJob;
          o += 3;
        } else {
          job = freshJob(entry, stream, fields ?? null, reply[o + 3] ?? null, reply[o + 4] ?? null, reply[o + 5] ?? null, true) as ClaimedJob;
          o += 6;
        }
        job.processedOn = processedOn;
        jobs.push(job);
      }
      return { kind: 'jobs', jobs };
    }
    if (status !== Status.EMPTY && status !== Status.PAUSED) {
      throw new ScriptError(`claim returned status ${JSON.stringify(status)}`);
    }
    return {
      kind: status === Status.PAUSED ? 'paused' : 'empty',
      nextDueMs: num(reply[1]),
      ctlId: str(reply[2]),
      waitIds: reply.slice(3).map(str),
    };
  }

  async complete(jobs: readonly CompleteInput[]): Promise<StatusCode[]> {
    return statuses(
      await runScript(
        this.client,
        'complete',
        { meta: this.keys.meta, completed: this.keys.completed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
        { base: this.base, group: GROUP, eventsMaxLen: this.eventsMaxLen },
        jobs.map(({ job, result, keep, progress }) => ({
          id: job.id,
          entry: job.entry,
          level: job.stream,
          keepCount: keep.count,
          keepAge: keep.age,
          group: job.group,
          // Deleted at once (keep count 0): no record to send.
          record: keep.count === 0 ? '' : doneRecord(job, result, progress),
          result: this.eventsMaxLen > 0 ? result : '',
          hashed: job.hashed || progress !== undefined ? 1 : 0,
        })),
      ),
    );
  }

  async fail(jobs: readonly FailInput[]): Promise<StatusCode[]> {
    return statuses(
      await runScript(
        this.client,
        'fail',
        { id: this.keys.id, meta: this.keys.meta, delayed: this.keys.delayed, failed: this.keys.failed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
        { base: this.base, group: GROUP, eventsMaxLen: this.eventsMaxLen },
        jobs.map(({ job, retryDelay, reason, stack, keep }) => ({
          id: job.id,
          entry: job.entry,
          level: job.stream,
          retryDelay,
          reason,
          stack,
          keepCount: keep.count,
          keepAge: keep.age,
          ...carried(job),
          pon: job.processedOn,
        })),
      ),
    );
  }

  async release(jobs: readonly ReleaseInput[]): Promise<StatusCode[]> {
    return statuses(
      await runScript(
        this.client,
        'release',
        { id: this.keys.id, meta: this.keys.meta, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
        { base: this.base, group: GROUP, eventsMaxLen: this.eventsMaxLen },
        jobs.map(({ job, holdMs }) => ({
          id: job.id,
          entry: job.entry,
          level: job.stream,
          holdMs,
          ...carried(job),
          err: job.failedReason,
          stack: job.stacktrace,
        })),
      ),
    );
  }

  async recoverStalled(reaper: string, idleMs: number, maxStalled: number, limit: number): Promise<{ requeued: number; failed: number }> {
    const reply = (await runScript(
      this.client,
      'recover-stalled',
      { id: this.keys.id, meta: this.keys.meta, failed: this.keys.failed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, group: GROUP, reaper, idleMs, maxStalled, limit, eventsMaxLen: this.eventsMaxLen },
    )) as number[];
    return { requeued: reply[0] ?? 0, failed: reply[1] ?? 0 };
  }

  /** `entriesByStream[stream]` lists the entries held on that stream; returns those no longer held. */
  async extendLeases(consumer: string, entriesByStream: readonly (readonly string[])[]): Promise<string[]> {
    const perStream = this.keys.streams.map((_, stream) => {
      const ids = entriesByStream[stream] ?? [];
      return { n: ids.length, ids };
    });
    return (await runScript(this.client, 'extend-leases', { streams: this.keys.streams }, { group: GROUP, consumer }, perStream)) as string[];
  }

  async setPaused(paused: boolean): Promise<void> {
    await runScript(
      this.client,
      'pause',
      { meta: this.keys.meta, ctl: this.keys.ctl, events: this.keys.events },
      { paused: paused ? 1 : 0, eventsMaxLen: this.eventsMaxLen },
    );
  }

  async removeJob(id: string): Promise<StatusCode> {
    return (await runScript(
      this.client,
      'remove-job',
      { meta: this.keys.meta, delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, events: this.keys.events, ...this.tail },
      { base: this.base, group: GROUP, id, eventsMaxLen: this.eventsMaxLen },
    )) as StatusCode;
  }

  async retryJob(id: string): Promise<StatusCode> {
    return (await runScript(
      this.client,
      'retry-job',
      { id: this.keys.id, meta: this.keys.meta, failed: this.keys.failed, completed: this.keys.completed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, group: GROUP, id, eventsMaxLen: this.eventsMaxLen },
    )) as StatusCode;
  }

  async retryJobs(state: 'failed' | 'completed', limit: number): Promise<number> {
    return (await runScript(
      this.client,
      'retry-jobs',
      { id: this.keys.id, meta: this.keys.meta, set: state === 'failed' ? this.keys.failed : this.keys.completed, events: this.keys.events, ctl: this.keys.ctl, ...this.tail },
      { base: this.base, limit, eventsMaxLen: this.eventsMaxLen, completed: state === 'completed' ? 1 : 0 },
    )) as number;
  }

  /** Returns JOB_ACTIVE, or the number of jobs this step deleted (0: the queue is gone). */
  async obliterate(force: boolean, limit: number): Promise<number> {
    return (await runScript(
      this.client,
      'obliterate',
      {
        meta: this.keys.meta,
        id: this.keys.id,
        delayed: this.keys.delayed,
        completed: this.keys.completed,
        failed: this.keys.failed,
        events: this.keys.events,
        ctl: this.keys.ctl,
        rate: this.keys.rate,
        schedules: this.keys.schedules,
        scheduleNext: this.keys.scheduleNext,
        scheduleRuns: this.keys.scheduleRuns,
        ...this.tail,
      },
      { base: this.base, force: force ? 1 : 0, limit },
    )) as number;
  }

  async getCounts(): Promise<Counts> {
    const [waiting = 0, active = 0, delayed = 0, completed = 0, failed = 0, paused = 0, limited = 0] = (await runScript(
      this.client,
      'get-counts',
      { meta: this.keys.meta, delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, ...this.tail },
      { base: this.base },
    )) as number[];
    return paused === 1
      ? { waiting: 0, active, delayed, completed, failed, paused: waiting, limited }
      : { waiting, active, delayed, completed, failed, paused: 0, limited };
  }

  async getMetrics(): Promise<QueueMetrics> {
    const reply = (await runScript(
      this.client,
      'metrics',
      { meta: this.keys.meta, delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, ...this.tail },
      { base: this.base, group: GROUP },
    )) as number[];
    const [isPaused = 0, active = 0, delayed = 0, completed = 0, failed = 0, completedTotal = 0, failedTotal = 0, grouped = 0, held = 0, limited = -1, oldest = -1] =
      reply;
    const waitingByLevel = reply.slice(11);
    const total = waitingByLevel.reduce((sum, n) => sum + n, grouped);
    return {
      waiting: isPaused === 1 ? 0 : total,
      active,
      delayed,
      completed,
      failed,
      paused: isPaused === 1 ? total : 0,
      isPaused: isPaused === 1,
      waitingByLevel,
      waitingGrouped: grouped,
      limited: limited < 0 ? null : limited,
      limitedGroups: held,
      oldestWaitingMs: oldest < 0 ? null : oldest,
      completedTotal,
      failedTotal,
    };
  }

  /** Resolves when Redis answers PING. */
  async ping(): Promise<void> {
    await this.client.ping();
  }

  async getJobs(state: JobState, start: number, stop: number): Promise<{ id: string; raw: RawJob }[]> {
    const reply = (await runScript(
      this.client,
      'get-jobs',
      { delayed: this.keys.delayed, completed: this.keys.completed, failed: this.keys.failed, ...this.tail },
      { base: this.base, group: GROUP, state, start, stop },
    )) as Reply[];
    const out: { id: string; raw: RawJob }[] = [];
    for (let o = 0; o + VIEW_SIZE <= reply.length; o += VIEW_SIZE) {
      const view = readView(reply, o);
      if (view.raw.size > 0) out.push(view);
    }
    return out;
  }

  /** max 0 removes the queue-wide limit. */
  async setRateLimit(limit: RateLimit | null): Promise<void> {
    await runScript(this.client, 'set-rate-limit', { meta: this.keys.meta, ctl: this.keys.ctl }, { max: limit?.max ?? 0, duration: limit?.duration ?? 0 });
  }

  async getRateLimit(): Promise<RateLimit | null> {
    const [max, duration] = await this.client.hmget(this.keys.meta, 'rlmax', 'rldur');
    return max === null || duration === null ? null : { max: Number(max), duration: Number(duration) };
  }

  /** group '' is the default of every group; null removes the rule. */
  async setGroupLimit(group: string, limit: GroupLimit | null): Promise<void> {
    const rule = limit === null ? '' : `${limit.max ?? -1} ${limit.duration ?? -1} ${limit.concurrency ?? -1}`;
    await runScript(this.client, 'set-group-limit', { ctl: this.keys.ctl, groups: this.keys.groups }, { group, rule });
  }

  /** Every group rule, by group ('' is the default). */
  async getGroupLimits(): Promise<Map<string, GroupLimit>> {
    const rules = await this.client.hgetall(this.keys.groups[5]);
    const out = new Map<string, GroupLimit>();
    for (const [group, rule] of Object.entries(rules)) {
      const [max = -1, duration = -1, concurrency = -1] = rule.split(' ').map(Number);
      out.set(group, {
        ...(max > 0 ? { max, duration } : {}),
        ...(concurrency > 0 ? { concurrency } : {}),
      });
    }
    return out;
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

  /** The job wherever it is (its hash, or its stream entry), in the field names of a job hash. */
  async getJob(id: string): Promise<RawJob | null> {
    const reply = (await runScript(this.client, 'get-job', { completed: this.keys.completed, streams: this.keys.streams }, { base: this.base, group: GROUP, id })) as Reply[];
    if (reply.length < VIEW_SIZE) return null;
    const { raw } = readView(reply, 0);
    return raw.size === 0 ? null : raw;
  }

  async updateProgress(id: string, progress: Buffer): Promise<StatusCode> {
    return (await runScript(
      this.client,
      'progress',
      { events: this.keys.events, streams: this.keys.streams },
      { base: this.base, group: GROUP, id, progress, eventsMaxLen: this.eventsMaxLen },
    )) as StatusCode;
  }

  /** Returns the number of lines kept, or JOB_MISSING. */
  async addLog(id: string, line: string, keep: number): Promise<number> {
    return (await runScript(this.client, 'log', { logs: this.keys.logs(id), streams: this.keys.streams }, { base: this.base, group: GROUP, id, line, keep })) as number;
  }

  async getLogs(id: string, start: number, stop: number): Promise<string[]> {
    return this.client.lrange(this.keys.logs(id), start, stop);
  }

  /**
   * The settings that decide whether Redis may lose jobs, per server that can hold the queue (the Redis,
   * or every master of a cluster); undefined when CONFIG is not allowed (managed Redis services often
   * rename or disable it): then nothing can be checked.
   */
  async durabilitySettings(): Promise<ServerSettings[] | undefined> {
    try {
      return await Promise.all(
        (await masters(this.client)).map(async ({ server, node }) => {
          const read = async (name: string): Promise<string> => (await node.config('GET', name))[1] ?? '';
          const [maxmemoryPolicy, appendonly, save] = await Promise.all([read('maxmemory-policy'), read('appendonly'), read('save')]);
          return { server, maxmemoryPolicy, appendonly, save };
        }),
      );
    } catch {
      return undefined;
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
    return connection.wait(replicas, timeoutMs).catch(throwRedisFailure);
  }
}

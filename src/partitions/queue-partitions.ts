import type { BulkOptions, BulkProgress } from '../bulk-progress.js';
import { BulkAddError, PartitionedQueueError } from '../errors.js';
import type { Job } from '../job.js';
import type { Counts, JobState, MinuteCounts, QueueMetrics } from '../states.js';
import type { GroupLimit, GroupStatus, LimitedGroups, RateLimit, RateWindow } from '../queue-settings.js';
import type { AddInput } from '../redis/store.js';
import type { ScheduleInfo, ScheduleJob, ScheduleSpec } from '../schedules/definition.js';
import { byHost, type WorkerInfo } from '../worker/heartbeat.js';
import { partitionOfGroup, partitionOfId, RoundRobin, routeJob } from './routing.js';
import { setPool, type SharePart } from './shares.js';

/**
 * The producer side of a partitioned queue: one Queue per partition (each with its own keys, Adder and
 * script calls, all on the outer Queue's one connection), and the rule that spreads jobs over them and
 * reads them back (routing.ts). Queue delegates every method here when `partitions` > 1; with 1, none of
 * this exists and nothing is spent on it.
 *
 * What spans partitions and what does not:
 * - an add is routed to one partition; addBulk groups its jobs by partition and sends the groups at once;
 * - reads ask every partition at once and add up (counts, metrics) or merge (getJobs, by time);
 * - pause, resume, retryJobs, clean, promoteJobs and obliterate run on every partition at once: each
 *   partition changes when its own call lands, not all in one instant;
 * - schedules are stored and fired on partition 0, and their jobs are enqueued there (the fire is one
 *   script on one slot, so a tick enqueues exactly once); getJob finds them there;
 * - a queue-wide rate limit or concurrency is split into one share per partition (splitShares), each
 *   enforced exactly by its partition's claim script; the shares then follow the load (shares.ts), moved by
 *   the Workers, their sum never above the queue's value;
 * - getWorkers merges the partitions' worker registries by consumer name: a partitioned Worker has one
 *   name in every partition it consumes (src/partitions/worker-partitions.ts), so it is listed once.
 */

/** What the partition layer needs of a partition's Queue: Queue's own methods, plus the prepared add. */
export interface PartitionQueue<Data, Result, P> {
  submitPrepared(inputs: AddInput[], prepared: readonly P[], data: readonly Data[], called: number): Promise<Job<Data, Result>[]>;
  getJob(id: string): Promise<Job<Data, Result> | undefined>;
  getJobs(state: JobState, start: number, end: number): Promise<Job<Data, Result>[]>;
  getCounts(): Promise<Counts>;
  getMetrics(): Promise<QueueMetrics>;
  getMetricsHistory(options: { minutes?: number }): Promise<MinuteCounts[]>;
  getWorkers(): Promise<WorkerInfo[]>;
  cancel(id: string, reason?: string): Promise<void>;
  runSchedule(id: string): Promise<string | null>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  getRateLimit(): Promise<RateLimit | null>;
  getConcurrency(): Promise<number | null>;
  setGroupLimit(limit: GroupLimit, group?: string): Promise<void>;
  removeGroupLimit(group?: string): Promise<void>;
  getGroupLimits(): Promise<Map<string, GroupLimit>>;
  getGroup(group: string): Promise<GroupStatus>;
  retryJobs(state: 'failed' | 'completed', options: BulkOptions): Promise<number>;
  upsertSchedule(id: string, spec: ScheduleSpec, job: ScheduleJob<Data>): Promise<{ next: Date | null; changed: boolean }>;
  getSchedules(): Promise<ScheduleInfo<Data>[]>;
  removeSchedule(id: string): Promise<boolean>;
  obliterate(options: { force?: boolean }): Promise<void>;
  clean(state: 'completed' | 'failed', olderThanMs: number, options: BulkOptions): Promise<number>;
  promoteJob(id: string): Promise<void>;
  promoteJobs(options: BulkOptions): Promise<number>;
  getLimitedGroups(limit: number): Promise<LimitedGroups>;
  getRateWindow(): Promise<RateWindow>;
  close(): Promise<void>;
}

/** A partitioned Queue's way to its partitions' limit shares: their stores, and every partition set up. */
export interface ShareAccess {
  readonly parts: readonly SharePart[];
  init(): Promise<void>;
}

export class QueuePartitions<Data, Result, P extends { input: AddInput }> {
  readonly #turn: RoundRobin;
  /** The `rateLimit` option, written to every partition before the first add (then undefined). */
  #rateLimit: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly parts: readonly PartitionQueue<Data, Result, P>[],
    rateLimit: RateLimit | undefined,
    private readonly shares: ShareAccess,
  ) {
    this.#turn = new RoundRobin(parts.length);
    this.#rateLimitOption = rateLimit;
  }

  readonly #rateLimitOption: RateLimit | undefined;

  /** Writes the rateLimit option to every partition once; the hot path reads one field after that. */
  #limited(): Promise<void> | undefined {
    const limit = this.#rateLimitOption;
    if (limit === undefined) return undefined;
    if (this.#rateLimit === undefined) {
      const applying = this.setRateLimit(limit);
      this.#rateLimit = applying;
      applying.then(
        () => (this.#rateLimitDone = true),
        () => {
          if (this.#rateLimit === applying) this.#rateLimit = undefined;
        },
      );
    }
    return this.#rateLimitDone ? undefined : this.#rateLimit;
  }

  #rateLimitDone = false;

  get count(): number {
    return this.parts.length;
  }

  #part(index: number): PartitionQueue<Data, Result, P> {
    const part = this.parts[index];
    if (part === undefined) throw new RangeError(`partition ${index} of ${this.parts.length}`);
    return part;
  }

  /** Routes prepared jobs to their partitions; one call per partition that gets any, all at once. */
  async submit(inputs: AddInput[], prepared: readonly P[], data: readonly Data[], called: number): Promise<Job<Data, Result>[]> {
    const limiting = this.#limited();
    if (limiting !== undefined) await limiting;
    const count = this.parts.length;
    if (inputs.length === 1) {
      const input = inputs[0] as AddInput;
      return this.#part(routeJob(input.group, input.jobId, count, this.#turn)).submitPrepared(inputs, prepared, data, called);
    }
    const slices = new Map<number, { indexes: number[]; inputs: AddInput[]; prepared: P[]; data: Data[] }>();
    inputs.forEach((input, i) => {
      const index = routeJob(input.group, input.jobId, count, this.#turn);
      let slice = slices.get(index);
      if (slice === undefined) slices.set(index, (slice = { indexes: [], inputs: [], prepared: [], data: [] }));
      slice.indexes.push(i);
      slice.inputs.push(input);
      slice.prepared.push(prepared[i] as P);
      slice.data.push(data[i] as Data);
    });
    if (slices.size === 0) {
      // An empty addBulk: partition 0 sets the queue up (and waits for replicas) as an unpartitioned one does.
      return this.#part(0).submitPrepared([], [], [], called);
    }
    const sent = [...slices].map(([index, slice]) => this.#part(index).submitPrepared(slice.inputs, slice.prepared, slice.data, called));
    const settled = await Promise.allSettled(sent);
    const out: (Job<Data, Result> | undefined)[] = new Array<Job<Data, Result> | undefined>(inputs.length);
    const failed: { index: number; error: Error }[] = [];
    [...slices.values()].forEach((slice, s) => {
      const result = settled[s] as PromiseSettledResult<Job<Data, Result>[]>;
      if (result.status === 'fulfilled') {
        result.value.forEach((job, j) => (out[slice.indexes[j] as number] = job));
      } else if (result.reason instanceof BulkAddError) {
        const partial = result.reason as BulkAddError<Job<Data, Result>>;
        const lost = new Set(partial.failed.map((f) => f.index));
        let k = 0;
        slice.indexes.forEach((index, j) => {
          if (!lost.has(j)) out[index] = partial.added[k++];
        });
        for (const f of partial.failed) failed.push({ index: slice.indexes[f.index] as number, error: f.error });
      } else {
        const error = result.reason instanceof Error ? result.reason : new Error(String(result.reason));
        for (const index of slice.indexes) failed.push({ index, error });
      }
    });
    if (failed.length === inputs.length && failed[0] !== undefined) throw failed[0].error;
    const added = out.filter((job): job is Job<Data, Result> => job !== undefined);
    if (failed.length > 0) throw new BulkAddError(added, failed.sort((a, b) => a.index - b.index), inputs.length);
    return added;
  }

  /**
   * The partition the routing rule names first; a given id not found there is looked for on the others (a
   * grouped job goes where its group hashes, and a schedule's jobs are on partition 0).
   */
  async getJob(id: string): Promise<Job<Data, Result> | undefined> {
    const index = partitionOfId(id, this.parts.length);
    if (index < 0) return undefined;
    const job = await this.#part(index).getJob(id);
    if (job !== undefined || /^\d+$/.test(id)) return job;
    const others = await Promise.all(this.parts.map((part, i) => (i === index ? Promise.resolve(undefined) : part.getJob(id))));
    return others.find((found) => found !== undefined);
  }

  /** A page merged over the partitions: each is asked for its first `end + 1`, the merge is cut to the page. */
  async getJobs(state: JobState, start: number, end: number): Promise<Job<Data, Result>[]> {
    const pages = await Promise.all(this.parts.map((part) => part.getJobs(state, 0, end)));
    return pages.flat().sort(ORDER[state]).slice(start, end + 1);
  }

  async getCounts(): Promise<Counts> {
    const all = await Promise.all(this.parts.map((part) => part.getCounts()));
    const sum: Counts = { waiting: 0, active: 0, delayed: 0, blocked: 0, completed: 0, failed: 0, paused: 0, limited: 0 };
    for (const counts of all) for (const key of Object.keys(sum) as (keyof Counts)[]) sum[key] += counts[key];
    return sum;
  }

  async getMetrics(): Promise<QueueMetrics> {
    const all = await Promise.all(this.parts.map((part) => part.getMetrics()));
    return sumMetrics(all);
  }

  /** Every partition's minutes added up, minute by minute (the partitions' masters keep their own clocks). */
  async getMetricsHistory(options: { minutes?: number }): Promise<MinuteCounts[]> {
    const all = await Promise.all(this.parts.map((part) => part.getMetricsHistory(options)));
    const byMinute = new Map<number, MinuteCounts>();
    for (const minutes of all) {
      for (const { minute, completed, failed } of minutes) {
        const sum = byMinute.get(minute) ?? { minute, completed: 0, failed: 0 };
        byMinute.set(minute, { minute, completed: sum.completed + completed, failed: sum.failed + failed });
      }
    }
    return [...byMinute.values()].sort((a, b) => a.minute - b.minute).slice(-(all[0]?.length ?? 0));
  }

  /**
   * Each Worker once: a partitioned Worker beats in every partition it consumes under one name, and each
   * beat says what the whole Worker runs, so the latest beat stands for it. At most 1,000, by host and pid.
   */
  async getWorkers(): Promise<WorkerInfo[]> {
    const byId = new Map<string, WorkerInfo>();
    for (const workers of await Promise.all(this.parts.map((part) => part.getWorkers()))) {
      for (const worker of workers) {
        const seen = byId.get(worker.id);
        if (seen === undefined || seen.lastHeartbeat < worker.lastHeartbeat) byId.set(worker.id, worker);
      }
    }
    return [...byId.values()].sort(byHost).slice(0, 1000);
  }

  /** On the partition that holds the job (its routed one first). */
  async cancel(id: string, reason?: string): Promise<void> {
    if (typeof id !== 'string' || id === '') return this.#part(0).cancel(id, reason);
    const index = partitionOfId(id, this.parts.length);
    const found = index < 0 ? undefined : await this.#part(index).getJob(id);
    const on = found === undefined ? await this.#holder(id) : index;
    return this.#part(on ?? Math.max(index, 0)).cancel(id, reason);
  }

  runSchedule(id: string): Promise<string | null> {
    return this.#part(0).runSchedule(id);
  }

  async pause(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.pause()));
  }

  async resume(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.resume()));
  }

  /**
   * The queue-wide limit, split over the partitions: partition p may start max_p jobs in any window of
   * `duration` ms, the max_p adding up to `max`, each enforced exactly by its own claim script. A sliding
   * window's shares then follow the load (shares.ts); a smooth limit's stay as split
   * (docs/guide/redis-setup.md, "Partitioned queues").
   */
  async setRateLimit(limit: RateLimit): Promise<void> {
    const split = splitRateLimit(this.name, limit, this.parts.length);
    await this.shares.init();
    const bursts = limit.smooth === true ? split.map((share) => share.burst ?? 1) : undefined;
    await setPool(this.name, this.shares.parts, {
      kind: 'rate',
      total: limit.max,
      targets: split.map((share) => share.max),
      duration: limit.duration,
      ...(bursts === undefined ? {} : { bursts }),
    });
  }

  async removeRateLimit(): Promise<void> {
    await this.shares.init();
    await setPool(this.name, this.shares.parts, { kind: 'rate', total: 0, targets: [], duration: 0 });
  }

  /** The queue-wide limit: its pool's total (what the shares add up to at most), or the shares added up. */
  async getRateLimit(): Promise<RateLimit | null> {
    const limits = (await Promise.all(this.parts.map((part) => part.getRateLimit()))).filter((limit): limit is RateLimit => limit !== null);
    return this.#pooled('rate', addShares(limits));
  }

  /**
   * The queue-wide concurrency, split as the rate limit is: partition p runs at most its share at once, the
   * shares adding up to `concurrency` at most, and following the load (shares.ts).
   */
  async setConcurrency(concurrency: number): Promise<void> {
    const targets = splitConcurrency(this.name, concurrency, this.parts.length);
    await this.shares.init();
    await setPool(this.name, this.shares.parts, { kind: 'concurrency', total: concurrency, targets, duration: 0 });
  }

  async removeConcurrency(): Promise<void> {
    await this.shares.init();
    await setPool(this.name, this.shares.parts, { kind: 'concurrency', total: 0, targets: [], duration: 0 });
  }

  /** The queue-wide concurrency: its pool's total, or the shares added up; null when none has one. */
  async getConcurrency(): Promise<number | null> {
    const all = (await Promise.all(this.parts.map((part) => part.getConcurrency()))).filter((share): share is number => share !== null);
    if (all.length === 0) return null;
    return (await this.#poolTotal('concurrency')) ?? total(all);
  }

  /** `summed` with its max replaced by the pool's total, when the shares have a pool. */
  async #pooled(kind: 'rate', summed: RateLimit | null): Promise<RateLimit | null> {
    if (summed === null || summed.smooth === true) return summed;
    const pooled = await this.#poolTotal(kind);
    return pooled === undefined ? summed : { ...summed, max: pooled };
  }

  /**
   * The total of the newest pool of `kind` on any partition: the queue's value even while a move is half
   * done or a crash left budget to hand out again (the shares then add up to less).
   */
  async #poolTotal(kind: 'rate' | 'concurrency'): Promise<number | undefined> {
    const reads = await Promise.all(this.shares.parts.map((part) => part.shares.read()));
    const pools = reads.map((read) => read[kind]).filter((pool) => pool.epoch > 0);
    if (pools.length === 0) return undefined;
    return pools.reduce((a, b) => (b.epoch > a.epoch ? b : a)).total;
  }

  /** A group's rule lives with its group; the default is on every partition. */
  async setGroupLimit(limit: GroupLimit, group?: string): Promise<void> {
    if (group !== undefined && group !== '') return this.#part(partitionOfGroup(group, this.parts.length)).setGroupLimit(limit, group);
    await Promise.all(this.parts.map((part) => part.setGroupLimit(limit)));
  }

  async removeGroupLimit(group?: string): Promise<void> {
    if (group !== undefined && group !== '') return this.#part(partitionOfGroup(group, this.parts.length)).removeGroupLimit(group);
    await Promise.all(this.parts.map((part) => part.removeGroupLimit()));
  }

  async getGroupLimits(): Promise<Map<string, GroupLimit>> {
    const all = await Promise.all(this.parts.map((part) => part.getGroupLimits()));
    const out = new Map<string, GroupLimit>();
    // Partition 0's default last: every partition holds the same one, and partition 0's is the record.
    for (const rules of [...all.slice(1), all[0] ?? new Map<string, GroupLimit>()]) for (const [group, rule] of rules) out.set(group, rule);
    return out;
  }

  getGroup(group: string): Promise<GroupStatus> {
    return this.#part(partitionOfGroup(group, this.parts.length)).getGroup(group);
  }

  retryJobs(state: 'failed' | 'completed', options: BulkOptions): Promise<number> {
    return this.#bulk(options, (part, each) => part.retryJobs(state, each));
  }

  /**
   * A bulk operation on every partition at once; onProgress hears the partitions' steps added up (the
   * total grows as each partition reports its own first step).
   */
  async #bulk(options: BulkOptions, run: (part: PartitionQueue<Data, Result, P>, each: BulkOptions) => Promise<number>): Promise<number> {
    const report = options.onProgress;
    const progress: BulkProgress[] = this.parts.map(() => ({ done: 0, total: 0 }));
    const each = (index: number): BulkOptions =>
      report === undefined
        ? {}
        : {
            onProgress: (step) => {
              progress[index] = step;
              report({ done: total(progress.map((p) => p.done)), total: total(progress.map((p) => p.total)) });
            },
          };
    return total(await Promise.all(this.parts.map((part, index) => run(part, each(index)))));
  }

  upsertSchedule(id: string, spec: ScheduleSpec, job: ScheduleJob<Data>): Promise<{ next: Date | null; changed: boolean }> {
    return this.#part(0).upsertSchedule(id, spec, job);
  }

  getSchedules(): Promise<ScheduleInfo<Data>[]> {
    return this.#part(0).getSchedules();
  }

  removeSchedule(id: string): Promise<boolean> {
    return this.#part(0).removeSchedule(id);
  }

  /**
   * Every partition, partition 0 last: it holds the queue's record (its partition count), which must stay
   * while any other partition still has keys. A refusal (running jobs) leaves the partitions it reached
   * deleted; call again once the jobs are done, or with force.
   */
  async obliterate(options: { force?: boolean }): Promise<void> {
    await Promise.all(this.parts.slice(1).map((part) => part.obliterate(options)));
    await this.#part(0).obliterate(options);
  }

  clean(state: 'completed' | 'failed', olderThanMs: number, options: BulkOptions): Promise<number> {
    return this.#bulk(options, (part, each) => part.clean(state, olderThanMs, each));
  }

  async promoteJob(id: string): Promise<void> {
    // Partition 0's Queue refuses an id that is not one, as an unpartitioned queue does.
    if (typeof id !== 'string' || id === '') return this.#part(0).promoteJob(id);
    const index = partitionOfId(id, this.parts.length);
    const found = index < 0 ? undefined : await this.#part(index).getJob(id);
    // Not on its routed partition: the partition getJob finds it on (or the routed one, to say it is missing).
    const on = found === undefined ? await this.#holder(id) : index;
    return this.#part(on ?? Math.max(index, 0)).promoteJob(id);
  }

  async #holder(id: string): Promise<number | undefined> {
    const found = await Promise.all(this.parts.map((part) => part.getJob(id)));
    const at = found.findIndex((job) => job !== undefined);
    return at < 0 ? undefined : at;
  }

  promoteJobs(options: BulkOptions): Promise<number> {
    return this.#bulk(options, (part, each) => part.promoteJobs(each));
  }

  async getLimitedGroups(limit: number): Promise<LimitedGroups> {
    const all = await Promise.all(this.parts.map((part) => part.getLimitedGroups(limit)));
    return {
      throttled: all.flatMap((held) => held.throttled).sort((a, b) => a.until.getTime() - b.until.getTime()).slice(0, limit),
      full: all.flatMap((held) => held.full).sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0)).slice(0, limit),
      throttledTotal: total(all.map((held) => held.throttledTotal)),
      fullTotal: total(all.map((held) => held.fullTotal)),
      withWork: total(all.map((held) => held.withWork)),
    };
  }

  /** The shares and their starts added up; a RateLimitError holds its job's partition: the latest hold. */
  async getRateWindow(): Promise<RateWindow> {
    const all = await Promise.all(this.parts.map((part) => part.getRateWindow()));
    const holds = all.map((window) => window.heldUntil).filter((until): until is Date => until !== null);
    return {
      limit: await this.#pooled('rate', addShares(all.map((window) => window.limit).filter((limit): limit is RateLimit => limit !== null))),
      started: total(all.map((window) => window.started)),
      heldUntil: holds.length === 0 ? null : new Date(Math.max(...holds.map((until) => until.getTime()))),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((part) => part.close()));
  }
}

/** What a partitioned queue does not do (flows, dedupe keys): refused, saying so. */
export function notForPartitions(name: string, partitions: number, what: string): PartitionedQueueError {
  return new PartitionedQueueError(
    `${what}: not built for a partitioned queue ('${name}' has ${partitions} partitions): the jobs involved could be on ` +
      `different masters, and one script cannot write them all. Use an unpartitioned queue for this work`,
  );
}

/**
 * A queue-wide number as shares, one per partition, adding up to `value`: the first `value mod N`
 * partitions take one more. Each partition's claim enforces its share exactly, so the queue never goes
 * past `value`. The callers refuse a `value` below the partition count: a share of 0 would stop a
 * partition for good.
 */
function splitShares(value: number, partitions: number): number[] {
  const base = Math.floor(value / partitions);
  return Array.from({ length: partitions }, (_, index) => base + (index < value % partitions ? 1 : 0));
}

/** A queue-wide concurrency as one share per partition (splitShares). */
export function splitConcurrency(name: string, concurrency: number, partitions: number): number[] {
  if (concurrency < partitions) {
    throw new PartitionedQueueError(
      `concurrency ${concurrency} is below queue '${name}''s ${partitions} partitions: it is split into one share per ` +
        `partition, and a share of 0 would stop a partition for good. Set ${partitions} or more, limit groups' ` +
        'concurrency instead, or use an unpartitioned queue',
    );
  }
  return splitShares(concurrency, partitions);
}

/**
 * A queue-wide rate limit as one limit per partition: `max` split (splitShares), the same `duration`. A
 * smooth limit's `burst` is split too, but each partition needs 1 at least: below N partitions, up to N
 * jobs (one per partition) may start at once after a pause instead of `burst`.
 */
export function splitRateLimit(name: string, limit: RateLimit, partitions: number): RateLimit[] {
  if (limit.max < partitions) {
    throw new PartitionedQueueError(
      `rate limit max ${limit.max} is below queue '${name}''s ${partitions} partitions: the limit is split into one share per ` +
        `partition, and a share of 0 would stop a partition for good. Raise max (or duration with it: ${partitions} per ` +
        `${Math.ceil((limit.duration * partitions) / Math.max(limit.max, 1))} ms is the same rate), or limit groups instead`,
    );
  }
  const max = splitShares(limit.max, partitions);
  if (limit.smooth !== true) return max.map((share) => ({ max: share, duration: limit.duration }));
  // burst <= max, so each burst share stays within its max share (same split of a smaller number).
  const burst = splitShares(Math.max(limit.burst ?? 1, partitions), partitions);
  return max.map((share, index) => ({ max: share, duration: limit.duration, smooth: true, burst: burst[index] as number }));
}

/** The partitions' rate limits as the queue's: shares (and bursts) added up; null when none has one. */
function addShares(limits: readonly RateLimit[]): RateLimit | null {
  const [first] = limits;
  if (first === undefined) return null;
  const limit: RateLimit = { max: total(limits.map((one) => one.max)), duration: first.duration };
  return first.smooth === true ? { ...limit, smooth: true, burst: total(limits.map((one) => one.burst ?? 1)) } : limit;
}

function total(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0);
}

type Compare = (a: Job, b: Job) => number;
const oldestFirst: Compare = (a, b) => a.timestamp - b.timestamp;
const newestFinishedFirst: Compare = (a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0);
/** Each partition's page is in its own order; the merge keeps that order across them, by time. */
const ORDER: Record<JobState, Compare> = {
  // Within a partition, level by level and then in the order added: the same across them.
  waiting: (a, b) => a.priority - b.priority || oldestFirst(a, b),
  active: (a, b) => (a.processedOn ?? a.timestamp) - (b.processedOn ?? b.timestamp),
  delayed: (a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0),
  blocked: oldestFirst,
  completed: newestFinishedFirst,
  failed: newestFinishedFirst,
};

/** Metrics of every partition as one queue's: counts and totals add up, the oldest waiting job is the oldest of all. */
export function sumMetrics(all: readonly QueueMetrics[]): QueueMetrics {
  const [first] = all;
  if (first === undefined) throw new RangeError('no partitions');
  const levels = first.waitingByLevel.length;
  const add = (pick: (m: QueueMetrics) => number): number => total(all.map(pick));
  const oldest = all.map((m) => m.oldestWaitingMs).filter((ms): ms is number => ms !== null);
  return {
    waiting: add((m) => m.waiting),
    active: add((m) => m.active),
    delayed: add((m) => m.delayed),
    blocked: add((m) => m.blocked),
    completed: add((m) => m.completed),
    failed: add((m) => m.failed),
    paused: add((m) => m.paused),
    isPaused: all.some((m) => m.isPaused),
    waitingByLevel: Array.from({ length: levels }, (_, level) => add((m) => m.waitingByLevel[level] ?? 0)),
    waitingGrouped: add((m) => m.waitingGrouped),
    limited: all.some((m) => m.limited === null) ? null : add((m) => m.limited ?? 0),
    limitedGroups: add((m) => m.limitedGroups),
    oldestWaitingMs: oldest.length === 0 ? null : Math.max(...oldest),
    completedTotal: add((m) => m.completedTotal),
    failedTotal: add((m) => m.failedTotal),
  };
}

import { assertWellFormed } from './bounds.js';
import { ValidationError } from './errors.js';
import { partitionTag } from './partitions/placement.js';

/**
 * The only module that builds Redis key names. Every key of a queue shares the hash tag `{name}`, so all of
 * a queue's keys live in one Redis Cluster slot and every script may touch any of them.
 *
 * Batched scripts (add, claim, complete, fail, recover-stalled) receive `base` and build per-job keys as
 * `base .. 'job:' .. id` in lua/includes/keys.lua, the completed jobs' hash as `base .. 'done'` and the
 * per-minute history's two hashes, the dedupe keys and the worker registry's two keys from `base` too; that
 * file mirrors JOB, LOGS, DONE, FRONT, HISTORY, DEDUPE, DEDUPE_WINDOWS, the flows' keys (DEPS, DEPENDENTS,
 * BLOCKED, LINKED, OUTBOX, FLOWS, FLOW), WORKERS, WORKER_INFO, the label index's (LABELS, LABELS_OF, LABEL), the
 * batches' (BATCH, BATCHES), SHARES_TURN and the handoff's (WAITERS, WAKE) below, and test/unit/keys.test.ts checks the two agree.
 */

/** 100 bytes: long enough for `tenant-42.invoices.monthly`, short enough to keep every key small. */
export const MAX_QUEUE_NAME_BYTES = 100;
export const DEFAULT_PREFIX = 'sluice';

const JOB = 'job:';
const LOGS = 'logs:';
const GROUP = 'group:';
const DONE = 'done';
const FRONT = 'front:';
const WORKERS = 'workers';
const WORKER_INFO = 'workers:info';
const HISTORY = 'history';
const DEDUPE = 'dedupe';
const DEDUPE_WINDOWS = 'dedupe:windows';
const DEPS = 'deps:';
const DEPENDENTS = 'dependents:';
const BLOCKED = 'blocked';
const LINKED = 'linked';
const OUTBOX = 'outbox';
const FLOWS = 'flows';
const FLOW = 'flow:';
const LABELS = 'labels';
const LABELS_OF = 'labels:of';
const LABEL = 'label:';
const BATCH = 'batch:';
const BATCHES = 'batches';
const SHARES_TURN = 'shares:turn';
const WAITERS = 'waiters';
const WAKE = 'wake:';
const GUARD = 'guard';

export interface QueueKeys {
  /** The queue's name, as the hash tag holds it. */
  readonly name: string;
  /** The prefix: other queues of it are built from it (a flow across queues). */
  readonly prefix: string;
  /** `prefix:{name}:`, the shared start of every key of the queue. */
  readonly base: string;
  /** The prefix's queue registry (registryKey): outside the queue's hash tag, on purpose. */
  readonly registry: string;
  /** Hash: levels, paused, active (the exact count of jobs being run). */
  readonly meta: string;
  /** String: INCR counter for generated job ids. */
  readonly id: string;
  /** Sorted set: delayed and backing-off jobs, scored by due time (ms). */
  readonly delayed: string;
  /** Sorted set: retained completed jobs, scored by finish time (ms). */
  readonly completed: string;
  /** Hash: retained completed jobs, job id -> the record its worker wrote (src/redis/done-record.ts). */
  readonly done: string;
  /** Sorted set: failed jobs, scored by finish time (ms). */
  readonly failed: string;
  /** Stream, capped: lifecycle events read by QueueEvents. */
  readonly events: string;
  /** Stream, capped at a few entries: pause/resume signals that wake blocked workers. */
  readonly ctl: string;
  /** One stream per priority level, index = level (0 runs first). Ungrouped jobs wait here. */
  readonly wait: readonly string[];
  /**
   * Stream through which claim hands out grouped jobs: it adds the jobs it admits and reads them back in
   * the same script, so the stream never holds an entry nobody was handed.
   */
  readonly admit: string;
  /** Every stream a delivery can come from: the level streams, then admit. Index = a delivery's stream. */
  readonly streams: readonly string[];
  /** Sorted set: the queue-wide rate log, entry id -> start time (ms), pruned to the last window. */
  readonly rate: string;
  /** Hash: dedupe locks, dedupe key -> '<until>:<job id>' (lua/includes/dedupe.lua); made by the first deduplicated add. */
  readonly dedupe: string;
  /** Sorted set: dedupe key -> when its window ends (ms), for the keys added with a ttl. */
  readonly dedupeWindows: string;
  /** Sorted set: the labels jobs carry now, label -> how many jobs carry it (lua/includes/labels.lua). */
  readonly labels: string;
  /** Hash: job id -> its labels joined by line breaks, for the jobs that have labels. */
  readonly labelsOf: string;
  /** Hash: recurring schedules, schedule id -> encoded definition (src/schedules/definition.ts). */
  readonly schedules: string;
  /** Sorted set: schedule id -> its next run (ms); a schedule that has ended has no member. */
  readonly scheduleNext: string;
  /** Hash: schedule id -> jobs it has enqueued so far (its limit counts these). */
  readonly scheduleRuns: string;
  /** Sorted set: the workers alive, consumer name -> when its heartbeat runs out (ms); src/worker/heartbeat.ts. */
  readonly workers: string;
  /** Hash: consumer name -> what the worker said of itself at its last heartbeat (JSON). */
  readonly workerInfo: string;
  /** Hash: jobs completed (`c<minute>`) and failed (`f<minute>`) per minute before the current one (lua/includes/history.lua). */
  readonly history: string;
  /** Hash: the current minute's counts, as `history`'s fields, and `at`, the minute they belong to. */
  readonly historyNow: string;
  /** The keys of group scheduling, in the order scripts take them (see lua/includes/groups.lua). */
  readonly groups: readonly [
    ready: string,
    state: string,
    throttled: string,
    full: string,
    active: string,
    limits: string,
    hold: string,
  ];
  job(id: string): string;
  logs(id: string): string;
  /** Which partition of a partitioned queue these keys are (index 0 of 1 for an unpartitioned queue). */
  readonly partition: PartitionKeys;
  /** Sorted set: a group's waiting jobs, scored by priority then time added. */
  groupWait(group: string): string;
  /** Sorted set: jobs a RateLimitError gave back on level `level`, by their place; served before its stream. */
  front(level: number): string;
  /** Sorted set: blocked jobs (waiting for their dependencies, src/flows.ts), scored by when they were added. */
  readonly blocked: string;
  /** Set: jobs that have dependencies or dependents and have not finished; meta `linked` is its size. */
  readonly linked: string;
  /** Hash: job `id`'s dependencies, dependency id -> its state, key and result or reason (lua/includes/dependents.lua). */
  deps(id: string): string;
  /** Set: the jobs that wait for job `id`. */
  dependents(id: string): string;
  /**
   * Stream: notes of ends to pass to jobs of other queues, on a Redis Cluster (a flow across slots,
   * src/flows-relay.ts): written by the script that ends a job, deleted once a relay applied them.
   */
  readonly outbox: string;
  /** Sorted set: parts of flows across slots that wait for the rest of their flow, flow id -> when written (ms). */
  readonly flows: string;
  /** Hash: such a part (src/flows-across-slots.ts): `last`, the queue of its flow's last part, and `jobs`, those waiting. */
  flow(id: string): string;
  /** Sorted set: the jobs with label `label` in `phase`: 'q' waiting, delayed or active (by creation), 'c' completed, 'f' failed (by finish time). */
  label(label: string, phase: LabelPhase): string;
  /** Hash: a batch's counters, its callbacks and whether they fired (lua/includes/batches.lua). */
  batch(id: string): string;
  /** Sorted set: every batch's id, scored by when its hash expires (+inf while anything is pending). */
  readonly batches: string;
  /**
   * String, expiring: which Worker moves a partitioned queue's limit shares (lua/rebalance-turn.lua); read on
   * partition 0 only.
   */
  readonly sharesTurn: string;
  /** Never written, never read: the last key of every script call on a Redis Cluster (guardKey). */
  readonly guard: string;
  /**
   * Sorted set: idle workers' free slots waiting for a handoff, '<consumer>#<slot>' -> until when (ms)
   * (lua/includes/handoff.lua).
   */
  readonly waiters: string;
  /** Stream: the jobs an add handed to waiting worker `consumer`, which its blocking read returns. */
  wake(consumer: string): string;
}

/** Where a label's jobs are indexed: 'q' unfinished (waiting, delayed, active), 'c' completed, 'f' failed. */
export type LabelPhase = 'q' | 'c' | 'f';
/** One partition of a queue split into `count` (src/partitions/); index 0 of 1 is the unpartitioned queue. */
export interface PartitionOf {
  readonly index: number;
  readonly count: number;
}

export interface PartitionKeys extends PartitionOf {
  /** Hash: the meta of partition 0, where the queue's partition count is recorded (this one's own when index is 0). */
  readonly firstMeta: string;
  /** Partition 0's streams (its init's keys): every partition's init makes partition 0 first. */
  readonly firstStreams: readonly string[];
}

export function validateQueueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(`queue name must be a non-empty string, got ${describe(name)}`);
  }
  if (name.includes('{') || name.includes('}')) {
    throw new ValidationError(
      `queue name '${name}' contains a brace; queue names may not contain '{' or '}' because the name ` +
        `forms the Redis Cluster hash tag of every key of the queue`,
    );
  }
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_QUEUE_NAME_BYTES) {
    throw new ValidationError(
      `queue name is ${bytes} bytes long; the limit is ${MAX_QUEUE_NAME_BYTES} bytes (it is part of every key)`,
    );
  }
  // C0, DEL and C1: invisible in redis-cli and logs, and C1's U+0085 is a line break to some tools.
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f-\x9f]/.test(name)) {
    throw new ValidationError(`queue name '${name}' contains white space or a control character; use letters, digits, '-', '_', '.' or ':'`);
  }
  assertWellFormed('queue name', name, 'two names could be one queue');
  return name;
}

export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new ValidationError(
      `prefix must be a non-empty string without braces or white space, got ${describe(prefix)}`,
    );
  }
  assertWellFormed(`prefix '${prefix}'`, prefix, 'two prefixes would be one');
  return prefix;
}

const SINGLE: PartitionOf = { index: 0, count: 1 };

/**
 * The keys of queue `name`, or of one partition of it. Partition 0 has the unpartitioned queue's keys
 * exactly; partition p >= 1 has the hash tag placement.ts chooses, and its keys start `prefix:{<tag>}p:`:
 * an unpartitioned queue's keys always have ':' after the tag's brace, so no queue name, whatever it holds,
 * can name a partition's keys.
 */
export function queueKeys(name: string, prefix: string, levels: number, partition: PartitionOf = SINGLE): QueueKeys {
  const first = `${validatePrefix(prefix)}:{${validateQueueName(name)}}:`;
  const base = partition.index === 0 ? first : `${prefix}:{${partitionTag(name, partition.index, partition.count)}}p:`;
  const wait: string[] = [];
  for (let level = 0; level < levels; level++) wait.push(`${base}wait:${level}`);
  return {
    name,
    prefix,
    base,
    registry: registryKey(prefix),
    meta: `${base}meta`,
    id: `${base}id`,
    delayed: `${base}delayed`,
    completed: `${base}completed`,
    done: base + DONE,
    failed: `${base}failed`,
    events: `${base}events`,
    ctl: `${base}ctl`,
    wait,
    admit: `${base}admit`,
    streams: [...wait, `${base}admit`],
    rate: `${base}rate`,
    dedupe: base + DEDUPE,
    dedupeWindows: base + DEDUPE_WINDOWS,
    labels: base + LABELS,
    labelsOf: base + LABELS_OF,
    schedules: `${base}schedules`,
    scheduleNext: `${base}schedules:next`,
    scheduleRuns: `${base}schedules:runs`,
    workers: base + WORKERS,
    workerInfo: base + WORKER_INFO,
    history: base + HISTORY,
    historyNow: `${base}${HISTORY}:now`,
    groups: [
      `${base}groups:ready`,
      `${base}groups:state`,
      `${base}groups:throttled`,
      `${base}groups:full`,
      `${base}groups:active`,
      `${base}groups:limits`,
      `${base}groups:hold`,
    ],
    job: (id) => base + JOB + id,
    logs: (id) => base + LOGS + id,
    groupWait: (group) => `${base}${GROUP}${group}:wait`,
    front: (level) => `${base}${FRONT}${level}`,
    blocked: base + BLOCKED,
    linked: base + LINKED,
    deps: (id) => base + DEPS + id,
    dependents: (id) => base + DEPENDENTS + id,
    outbox: base + OUTBOX,
    flows: base + FLOWS,
    flow: (id) => base + FLOW + id,
    label: (label, phase) => `${base}${LABEL}${label}:${phase}`,
    partition: {
      index: partition.index,
      count: partition.count,
      firstMeta: `${first}meta`,
      firstStreams: partition.index === 0 ? [...wait, `${base}admit`] : [...wait.map((stream) => first + stream.slice(base.length)), `${first}admit`],
    },
    batch: (id) => base + BATCH + id,
    batches: base + BATCHES,
    sharesTurn: base + SHARES_TURN,
    guard: base + GUARD,
    waiters: base + WAITERS,
    wake: (consumer) => base + WAKE + consumer,
  };
}

/**
 * The guard of the queue (or partition) `key` belongs to: its base, `prefix:{tag}:` or `prefix:{tag}p:`
 * (everything up to the first ':' after the hash tag), and `guard`. No script writes or reads it, so it
 * never exists. On a Redis Cluster every script call names it as one more key, last (src/redis/scripts.ts):
 * while the slot is being migrated to another master, Redis refuses a script whose keys are not all there
 * (TRYAGAIN, or ASK and then TRYAGAIN on the importing master) before it runs, and the guard is never there.
 * Without it a script whose keys all happened to exist ran on the migrating master, and a command inside
 * it on a key that was missing at that moment (one it had emptied itself, a job's hash already moved)
 * failed with "Script attempted to access a non local key" after the writes before it had landed
 * (Redis 7.0.15, test/fault/partitions-reshard.test.ts).
 */
export function guardKey(key: string): string {
  const open = key.indexOf('{');
  // A tag is not empty: '{}' makes Redis hash the whole key.
  const close = open === -1 ? -1 : key.indexOf('}', open + 2);
  const end = close === -1 ? -1 : key.indexOf(':', close);
  if (end === -1) throw new Error(`'${key}' is not a key of a queue (no hash tag followed by ':')`);
  return key.slice(0, end + 1) + GUARD;
}

/**
 * Set: the name of every queue of `prefix` that was initialised (src/redis/registry.ts), for the dashboard.
 * It cannot share a queue's hash tag, since it lists them all: it is one key of its own, in whatever slot
 * `prefix:queues` hashes to, and no script ever touches it (a script may only touch its queue's slot). It
 * cannot collide with a queue's keys, which all hold a `{`.
 */
export function registryKey(prefix: string): string {
  return `${validatePrefix(prefix)}:queues`;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

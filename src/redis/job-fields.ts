import type { JobState } from '../states.js';

/**
 * A job's fields have one spelling in Redis (lua/includes/job-fields.lua: a stream entry, a job hash and a
 * completed record all use it) and one in TypeScript (StoredJob). This module is the only place that maps
 * one to the other: every reader of a job's three homes (entries.ts, done-record.ts, the hash reader here)
 * goes through readJob, and the settle scripts' per-job values come from carriedFields.
 * test/unit/job-fields.test.ts checks these tables against the Lua ones.
 */

/** Each StoredJob field and its name in Redis. */
export const STORED_NAMES = {
  id: 'id',
  name: 'name',
  data: 'data',
  opts: 'opts',
  timestamp: 'ts',
  priority: 'prio',
  group: 'grp',
  attemptsStarted: 'ats',
  attemptsMade: 'atm',
  stalls: 'stalls',
  readyAt: 'ready',
  failedReason: 'err',
  stacktrace: 'stack',
  state: 'state',
  dueAt: 'due',
  processedOn: 'pon',
  finishedOn: 'fon',
  progress: 'progress',
  returnvalue: 'rv',
  entry: 'entry',
  stream: 'lvl',
  processedBy: 'by',
} as const;

export type StoredName = (typeof STORED_NAMES)[keyof typeof STORED_NAMES];

/** A stream entry in the full layout: these, in this order, then err and stack after a failed attempt. */
export const FULL_FIELDS = ['id', 'name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'stalls', 'ready'] as const satisfies readonly StoredName[];
/** What a full entry holds after a failed attempt, after FULL_FIELDS. */
export const FAILURE_FIELDS = ['err', 'stack'] as const satisfies readonly StoredName[];
/** A stream entry in the fresh layout (a job added ready, with a generated id and no group): only these. */
export const FRESH_FIELDS = ['name', 'data', 'opts', 'ts'] as const satisfies readonly StoredName[];
/**
 * A completed record's parts, in order (done-record.ts): progress (empty for none) and by are left out of
 * records written before processedBy existed.
 */
export const RECORD_PARTS = ['name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'pon', 'rv', 'err', 'stack', 'progress', 'by'] as const satisfies readonly StoredName[];
/** Fields that hold a count or a time: decimal digits only (1 to 15, exact in a double). */
export const COUNTERS = ['ts', 'prio', 'ats', 'atm', 'stalls'] as const satisfies readonly StoredName[];

/** A job as Redis holds it, read from any of its three homes; data, options and results still encoded. */
export interface StoredJob {
  id: string;
  state: JobState;
  name: string;
  /** msgpack, as the producer encoded it. */
  data: Buffer;
  /** msgpack options; empty when all are defaults. */
  opts: Buffer;
  /** When the job was added (ms, Redis' clock). */
  timestamp: number;
  priority: number;
  /** '' for none. */
  group: string;
  /** Attempts started; for a claimed job, this one included. */
  attemptsStarted: number;
  /** Attempts that ended before this one. */
  attemptsMade: number;
  /** Times the job was taken back from a worker that stopped responding. */
  stalls: number;
  /** The latest failed attempt's reason and stack, '' for none. */
  failedReason: string;
  stacktrace: string;
  processedOn?: number;
  finishedOn?: number;
  /** When a delayed job is due (ms). */
  dueAt?: number;
  /** msgpack, a completed job's. */
  returnvalue?: Buffer;
  /** msgpack, when the job recorded progress. */
  progress?: Buffer;
  /** The consumer that runs the job (active) or ran its last attempt (completed, failed for good). */
  processedBy?: string;
  /** On a stream: its entry (the fencing token of a delivery) and the stream's index (levels, then admit). */
  entry?: string;
  stream?: number;
  /** The job has a hash besides its entry (a full entry's locator, or progress): a completion deletes it. */
  hashed: boolean;
  /**
   * What is wrong with the stored fields (written by hand, or by a buggy client), when something is: the
   * other fields hold what could be read. A worker fails such a job for good without running it.
   */
  corrupt?: string;
}

/** A job as claim hands it to a worker: on a stream, being started now. */
export interface ClaimedJob extends StoredJob {
  entry: string;
  stream: number;
  /** When this attempt started (ms, Redis' clock). */
  processedOn: number;
}

/** A stored field's bytes by its name; undefined when the job has no such field. */
export type FieldSource = (name: StoredName) => Buffer | undefined;

/** A count as sluice writes one: 1 to 15 decimal digits; undefined otherwise. */
export function countOf(bytes: Buffer): number | undefined {
  if (bytes.length === 0 || bytes.length > 15) return undefined;
  for (const byte of bytes) if (byte < 0x30 || byte > 0x39) return undefined;
  return Number(bytes.toString('latin1'));
}

/** How a bad value is named in a problem: at most 40 characters of it. */
function shown(bytes: Buffer): string {
  return JSON.stringify(bytes.toString().slice(0, 40));
}

/**
 * The one reader of a job's stored fields. Required: name, data, opts, ts, prio; counts left out are 0
 * (a hash leaves out counters at 0). What cannot be read makes the job `corrupt` (naming the field) rather
 * than an error, so a caller can fail that one job and go on with the others.
 */
export function readJob(id: string, state: JobState, get: FieldSource, hashed: boolean, problem?: string): StoredJob {
  const problems: string[] = problem === undefined ? [] : [problem];
  const bytes = (name: StoredName, required: boolean): Buffer => {
    const value = get(name);
    if (value !== undefined) return value;
    if (required) problems.push(`field '${name}' is missing`);
    return Buffer.alloc(0);
  };
  const count = (name: StoredName, required: boolean): number => {
    const value = get(name);
    if (value === undefined) {
      if (required) problems.push(`field '${name}' is missing`);
      return 0;
    }
    const n = countOf(value);
    if (n === undefined) problems.push(`field '${name}' is ${shown(value)}, not a count`);
    return n ?? 0;
  };
  const optional = (name: StoredName): number | undefined => {
    const value = get(name);
    if (value === undefined) return undefined;
    const n = countOf(value);
    if (n === undefined) problems.push(`field '${name}' is ${shown(value)}, not a time`);
    return n;
  };
  const job: StoredJob = {
    id,
    state,
    name: bytes('name', true).toString(),
    data: bytes('data', true),
    opts: bytes('opts', true),
    timestamp: count('ts', true),
    priority: count('prio', true),
    group: get('grp')?.toString() ?? '',
    attemptsStarted: count('ats', false),
    attemptsMade: count('atm', false),
    stalls: count('stalls', false),
    failedReason: get('err')?.toString() ?? '',
    stacktrace: get('stack')?.toString() ?? '',
    hashed,
  };
  const processedOn = optional('pon');
  if (processedOn !== undefined) job.processedOn = processedOn;
  const finishedOn = optional('fon');
  if (finishedOn !== undefined) job.finishedOn = finishedOn;
  const dueAt = optional('due');
  if (dueAt !== undefined) job.dueAt = dueAt;
  const returnvalue = get('rv');
  if (returnvalue !== undefined) job.returnvalue = returnvalue;
  const progress = get('progress');
  if (progress !== undefined) job.progress = progress;
  const by = get('by');
  if (by !== undefined && by.length > 0) job.processedBy = by.toString();
  if (problems.length > 0) job.corrupt = [...new Set(problems)].join('; ');
  return job;
}

/** A job hash's fields (lua/includes/record.lua) as they came: (name, value) pairs. */
export function readHash(id: string, state: JobState, fields: ReadonlyMap<string, Buffer>): StoredJob {
  return readJob(id, state, (name) => fields.get(name), true);
}

/**
 * What fail and release write back of a delivery: the job as claim handed it, in Redis' names (their
 * per-job values in src/redis/scripts.ts). attemptsMade is the count before this attempt.
 */
export function carriedFields(job: StoredJob): Record<'name' | 'data' | 'opts' | 'ts' | 'prio' | 'grp' | 'ats' | 'atm' | 'stalls', string | number | Buffer> {
  return {
    name: job.name,
    data: job.data,
    opts: job.opts,
    ts: job.timestamp,
    prio: job.priority,
    grp: job.group,
    ats: job.attemptsStarted,
    atm: job.attemptsMade,
    stalls: job.stalls,
  };
}

import { MAX_RETRY_DELAY_MS } from './backoff.js';
import { assertWellFormed, MAX_TIMER_MS } from './bounds.js';
import { isStoredDedupe, validateDedupe, type DedupeOptions } from './dedupe.js';
import { DecodeError, ValidationError } from './errors.js';
import { isStoredLabels, validateLabels } from './labels.js';
import { readStoredMeta, validateMeta, type JobMeta } from './meta.js';
import { decode } from './serializer.js';

/**
 * Job options: what a producer may say about one job, their defaults and their validation. Every default
 * can be set per queue (`defaultJobOptions`) and overridden per job. Validation runs before anything is
 * written, and every message names the option, the value and what is allowed.
 */

/**
 * Retention by count and age: the object form of {@link RemoveOption}. A finished job is deleted once
 * either bound is passed.
 */
export interface KeepJobs {
  /**
   * Keep at most this many jobs in the state (an integer >= 0); older ones are deleted.
   *
   * @defaultValue no limit on the count
   */
  count?: number;
  /**
   * Keep jobs for at most this many seconds after they finished (an integer >= 0).
   *
   * @defaultValue no limit on the age
   */
  age?: number;
}

/** true: delete at once; false: keep forever; a number: keep that many; an object: by count and/or age. */
export type RemoveOption = boolean | number | KeepJobs;

/**
 * How long a job waits before each retry (the job option `backoff`): exponential, fixed, or a strategy
 * registered on the Worker. No wait is longer than 2,147,483,647 ms.
 */
export type BackoffOptions =
  /** delay * 2^(retry-1) ms, capped at maxDelay (default 1 hour), minus up to `jitter` of it at random (default 0.5). */
  | {
      /** The wait doubles at each retry: delay × 2^(retry - 1). */
      type: 'exponential';
      /**
       * The first retry's wait, in ms (0 to 2,147,483,647).
       *
       * @defaultValue `1000`
       */
      delay?: number;
      /**
       * Share of each wait taken off at random, 0 to 1 ("equal jitter": with 0.5 a wait is 50% to 100% of
       * its full length), so retries of many jobs do not hit a recovering downstream at once.
       *
       * @defaultValue `0.5`
       */
      jitter?: number;
      /**
       * Cap on each wait, in ms (0 to 2,147,483,647).
       *
       * @defaultValue `3600000` (one hour)
       */
      maxDelay?: number;
    }
  | {
      /** Every retry waits the same `delay`. */
      type: 'fixed';
      /** The wait before each retry, in ms (0 to 2,147,483,647); required. */
      delay: number;
      /**
       * Share of each wait taken off at random, 0 to 1.
       *
       * @defaultValue `0`
       */
      jitter?: number;
    }
  /** A strategy registered on the Worker under `backoffStrategies[type]`. */
  | {
      /** The strategy's name in the Worker option `backoffStrategies`. */
      type: string;
      /**
       * Passed to the strategy in its `options` argument, in ms.
       *
       * @defaultValue none
       */
      delay?: number;
    };

/**
 * The options of one job, the third argument of {@link Queue.add}. Every one but `jobId`, `delay`, `runAt`
 * and `group` may also be set for all of a Queue's jobs (`defaultJobOptions`). Validated before anything is
 * written: a bad one rejects with {@link ValidationError} naming the option, the value and what is allowed.
 */
export interface JobOptions {
  /**
   * Idempotency key, 1 to 256 characters: adding an id that exists returns the existing job. Not all
   * digits (those are generated ids).
   *
   * @defaultValue generated: `'1'`, `'2'`, ... per queue
   */
  jobId?: string;
  /**
   * Run no earlier than this many ms from now (an integer >= 0, counted on Redis' clock).
   *
   * @defaultValue none: the job may run at once
   */
  delay?: number;
  /**
   * Run no earlier than this instant. Exclusive with `delay`.
   *
   * @defaultValue none: the job may run at once
   */
  runAt?: Date;
  /**
   * Level from 0 (runs first) to priorityLevels - 1.
   *
   * @defaultValue the queue's middle level, `floor((priorityLevels - 1) / 2)`: 1 with 3 levels
   */
  priority?: number;
  /**
   * Total tries, the first included (1 to 1,000,000).
   *
   * @defaultValue `11`: the first run and 10 retries
   */
  attempts?: number;
  /**
   * How long the job waits before each retry.
   *
   * @defaultValue `{ type: 'exponential', delay: 1000, jitter: 0.5 }`: 0.5 to 1 s, then 1 to 2 s, ...,
   * up to 256 to 512 s before the 10th retry
   */
  backoff?: BackoffOptions;
  /**
   * Retention of the job once completed: true deletes it at once (its event is still emitted), false
   * keeps it, a number keeps the newest that many, `{ count?, age? }` bounds both.
   *
   * @defaultValue `{ count: 1000, age: 86400 }`: completed jobs are kept for a day, at most 1000 of them
   */
  removeOnComplete?: RemoveOption;
  /**
   * Retention of the job once failed for good, in the same forms as `removeOnComplete`.
   *
   * @defaultValue `false`: failed jobs stay until a person retries or removes them
   */
  removeOnFail?: RemoveOption;
  /**
   * ms a single attempt may run (1 to 2,147,483,647); past it the attempt fails with TimeoutError and
   * ctx.signal aborts.
   *
   * @defaultValue none: no time limit
   */
  timeout?: number;
  /**
   * The group (tenant, customer, account) the job belongs to, 1 to 256 characters. Groups are served
   * round-robin and obey their group limits (queue.setGroupLimit); priority orders jobs within a group.
   *
   * @defaultValue none: the job belongs to no group
   */
  group?: string;
  /**
   * One job per key while it is unfinished, for a window (throttle), or the last data wins (debounce): see
   * DedupeOptions. Per job only: not in defaultJobOptions, addBulk or a schedule's job.
   *
   * @defaultValue none: every add makes a job (unless its jobId exists)
   */
  dedupe?: DedupeOptions;
  /**
   * Labels to find the job by later (`queue.getJobs(state, { label })`): at most 8 distinct strings of 1 to
   * 64 characters, no control characters. Each one is an entry of the label index, which the job's every
   * state change keeps exact; a job without labels has none. Per job only: not in `defaultJobOptions`, a
   * schedule's job or a flow's (those are written by scripts that keep no label index yet).
   *
   * @defaultValue none: the job has no labels
   */
  labels?: string[];
  /**
   * Small plain metadata carried with the job through every retry, stall and promotion (`job.meta`): the
   * tenant or user of the request that added it, a request id. Strings, finite numbers and booleans, at
   * most 1 KiB encoded. Merged over the Queue's `context()`; its keys win. Per job only (not in
   * `defaultJobOptions`).
   *
   * @defaultValue none: the Queue's `context()` alone, or no meta
   */
  meta?: Record<string, string | number | boolean>;
  /**
   * Existing jobs that must end first: ids of this queue's jobs, or `{ queue, id }` for a job of another
   * queue of the prefix (one Redis only). The job waits `blocked` until then. Not with `delay` or `runAt`.
   * Per job only.
   *
   * @defaultValue none: the job is ready at once
   */
  dependsOn?: (string | DependencyRef)[];
  /**
   * What a dependency that fails for good (or is removed) does to this job: `'fail'` (it fails without
   * running, its reason naming the dependency), `'ignore'` (it runs once all ended) or `'remove'` (it is
   * deleted). Per job only.
   *
   * @defaultValue `'fail'`
   */
  onDependencyFailure?: 'fail' | 'ignore' | 'remove';
  /**
   * A job enqueued exactly once if this job fails for good (a failed dependency included), in this queue.
   * Per job only.
   *
   * @defaultValue none
   */
  onFailure?: OnFailureJob;
}

/** A job of another queue of the same prefix, named by its queue and id (a flow across queues, one Redis only). */
export interface DependencyRef {
  /** The queue's name. */
  queue: string;
  /** The job's id in that queue. */
  id: string;
}

/** A job enqueued exactly once when the job (or flow) it is attached to fails for good. */
export interface OnFailureJob<Data = unknown> {
  /** The job's name. */
  name: string;
  /** The job's data. */
  data: Data;
  /**
   * The job's options: any but `delay`, `runAt` and the workflow options.
   *
   * @defaultValue the Queue's `defaultJobOptions`
   */
  opts?: JobOptions;
}

/** The Queue option `defaultJobOptions`: the job options that may apply to every job of a Queue. */
export type DefaultJobOptions = Omit<JobOptions, 'jobId' | 'delay' | 'runAt' | 'group' | 'dedupe' | 'dependsOn' | 'onDependencyFailure' | 'onFailure' | 'meta' | 'labels'>;

/**
 * A retention as stored with a job (`job.opts.keepCompleted`, `keepFailed`): `removeOnComplete` and
 * `removeOnFail` in the one form the scripts take. -1 means "no limit"; count 0 means "delete at once".
 */
export interface Keep {
  /** Most jobs kept in the state; -1 for no limit, 0 to delete each job as it finishes. */
  count: number;
  /** Longest time a job is kept after it finished, in seconds; -1 for no limit. */
  age: number;
}

/** What is stored with the job (msgpack) so that any worker can settle it without the producer's options. */
export interface StoredJobOptions {
  /** Total tries, the first included. */
  attempts: number;
  /** The wait before each retry, with its defaults filled in. */
  backoff: BackoffOptions;
  /** Retention once completed (from `removeOnComplete`). */
  keepCompleted: Keep;
  /** Retention once failed for good (from `removeOnFail`). */
  keepFailed: Keep;
  /**
   * ms a single attempt may run.
   *
   * @defaultValue none: no time limit
   */
  timeout?: number;
  /**
   * ms from add to the first run, when delayed.
   *
   * @defaultValue none: not delayed (or added with `runAt`)
   */
  delay?: number;
  /**
   * The group the job belongs to.
   *
   * @defaultValue none: no group
   */
  group?: string;
  /**
   * The job's dedupe option as it was added (see JobOptions.dedupe).
   *
   * @defaultValue none: no dedupe key
   */
  dedupe?: DedupeOptions;
  /**
   * The job's labels (see JobOptions.labels).
   *
   * @defaultValue none: no labels
   */
  labels?: string[];
  /**
   * The job's meta, as `job.meta` reads it.
   *
   * @defaultValue none: the job has no meta
   */
  meta?: JobMeta;
  /**
   * The batch the job is a member of (see Queue.openBatch). Written into the stored options by the batch-add
   * script, first in the map, never by a producer: it is not a job option.
   *
   * @defaultValue none: the job is in no batch
   */
  batch?: string;
}

export const DEFAULT_ATTEMPTS = 11;
export const DEFAULT_BACKOFF: BackoffOptions = { type: 'exponential', delay: 1000, jitter: 0.5 };
export const DEFAULT_KEEP_COMPLETED: Keep = { count: 1000, age: 86_400 };
export const KEEP_ALL: Keep = { count: -1, age: -1 };
/** Three levels (0 urgent, 1 normal, 2 bulk): enough for most queues, and each level is one stream to read. */
export const DEFAULT_PRIORITY_LEVELS = 3;
/** Redis keeps at most a few dozen streams cheaply per claim; 32 levels is already more than any queue needs. */
export const MAX_PRIORITY_LEVELS = 32;

/**
 * What is written to Redis: only the options that differ from the defaults above. Every job carried a
 * ~90-byte options blob before; a Redis hash keeps its compact listpack encoding only while each value is
 * at most 64 bytes (hash-max-listpack-value), so that blob alone made every job hash several times larger.
 * With defaults left out it is 3 bytes for most jobs. `expandOptions` restores the full form on read.
 */
export function compactOptions(stored: StoredJobOptions): Partial<StoredJobOptions> {
  const out: Partial<StoredJobOptions> = {};
  if (stored.attempts !== DEFAULT_ATTEMPTS) out.attempts = stored.attempts;
  if (!sameJson(stored.backoff, DEFAULT_BACKOFF)) out.backoff = stored.backoff;
  if (!sameJson(stored.keepCompleted, DEFAULT_KEEP_COMPLETED)) out.keepCompleted = stored.keepCompleted;
  if (!sameJson(stored.keepFailed, KEEP_ALL)) out.keepFailed = stored.keepFailed;
  if (stored.timeout !== undefined) out.timeout = stored.timeout;
  if (stored.delay !== undefined) out.delay = stored.delay;
  if (stored.group !== undefined) out.group = stored.group;
  if (stored.dedupe !== undefined) out.dedupe = stored.dedupe;
  if (stored.labels !== undefined) out.labels = stored.labels;
  if (stored.meta !== undefined) out.meta = stored.meta;
  return out;
}

/**
 * Reserved key of the stored options: the job's trace creation context (src/telemetry/trace-context.ts),
 * written only when an OpenTelemetry SDK gave the producer's span a valid context. It is not a job option:
 * normalizeJobOptions refuses unknown keys, so users cannot set it, and expandOptions keeps it out of
 * `job.opts`. It lives here rather than in a hash field of its own so that no script changes, and it
 * survives every requeue (retry, delay, stall) because the scripts keep `opts` as they are.
 */
export const TRACE_CONTEXT_KEY = 'tc';

/**
 * Reserved key of the stored options: the creation contexts of the jobs this job depends on in its flow
 * (src/flows.ts), at most MAX_TRACE_LINKS of them, in the form of TRACE_CONTEXT_KEY. The worker links the
 * job's process span to them. Written only when the producer's spans have valid contexts.
 */
export const TRACE_LINKS_KEY = 'tl';
/** The SDK keeps 128 links per span by default; 32 stored contexts (25 bytes each) bound the options' size. */
export const MAX_TRACE_LINKS = 32;

/**
 * Reserved key of the stored options, value 1: jobs of the job's flow wait for it, so its worker sends its
 * process span's context with its complete, and the jobs that wait link their process spans to it
 * (lua/includes/dependents.lua). Written only beside TRACE_CONTEXT_KEY (4 bytes), so a job outside a traced
 * flow neither stores nor sends anything for it.
 */
export const TRACE_PASS_KEY = 'tp';

/** The stored options as encoded: the non-default options, plus the trace context when there is one. */
export type EncodedJobOptions = Partial<StoredJobOptions> & { [TRACE_CONTEXT_KEY]?: unknown; [TRACE_LINKS_KEY]?: unknown; [TRACE_PASS_KEY]?: 1 };

/**
 * A job whose options are all defaults stores zero bytes of them, not an empty msgpack map: 3 bytes per
 * waiting job (of ~150), and no encoding or decoding for most jobs.
 */
export const NO_OPTIONS = Buffer.alloc(0);

/** Whether no option of `options` is set: for NO_OPTIONS, checked without allocating. */
export function noOptions(options: object): boolean {
  for (const key in options) if (Object.hasOwn(options, key)) return false;
  return true;
}

/** The options of every job that has none of its own: one frozen object, not one per job. */
const DEFAULT_STORED: StoredJobOptions = Object.freeze({
  attempts: DEFAULT_ATTEMPTS,
  backoff: DEFAULT_BACKOFF,
  keepCompleted: DEFAULT_KEEP_COMPLETED,
  keepFailed: KEEP_ALL,
});

export function expandOptions(compact: EncodedJobOptions | undefined): StoredJobOptions {
  if (compact === undefined) return DEFAULT_STORED;
  let options: Partial<StoredJobOptions> | undefined = compact;
  // Rest-destructuring copies, so only traced jobs pay for it (and `delete` would slow every later read).
  // TRACE_PASS_KEY is only ever stored beside TRACE_CONTEXT_KEY.
  if (compact?.[TRACE_CONTEXT_KEY] !== undefined || compact?.[TRACE_LINKS_KEY] !== undefined) {
    const { [TRACE_CONTEXT_KEY]: _trace, [TRACE_LINKS_KEY]: _links, [TRACE_PASS_KEY]: _pass, ...rest } = compact;
    options = rest;
  }
  return { attempts: DEFAULT_ATTEMPTS, backoff: DEFAULT_BACKOFF, keepCompleted: DEFAULT_KEEP_COMPLETED, keepFailed: KEEP_ALL, ...options };
}

/** How a stored value that is not what it should be is named in a DecodeError. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value).slice(0, 40);
}

const isCount = (value: unknown, min: number): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
const isOptionalNumber = (value: unknown): boolean => value === undefined || (typeof value === 'number' && Number.isFinite(value));

function isKeep(value: unknown): boolean {
  return isPlainObject(value) && isCount(value.count, -1) && isCount(value.age, -1);
}

/**
 * A job's stored options read back from Redis and checked. Bytes written by hand or by another client can
 * be valid msgpack of the wrong shape; a worker must fail that one job (DecodeError) rather than throw while
 * it starts a batch, which left the batch's other jobs to the stalled sweep. Keys it does not know are
 * ignored: a later sluice may store more. Zero bytes are the defaults (NO_OPTIONS), read without decoding.
 */
export function readStoredOptions(bytes: Buffer, what: string): { options: StoredJobOptions; traceContext: unknown; traceLinks?: unknown; passesTrace?: boolean } {
  if (bytes.length === 0) return { options: DEFAULT_STORED, traceContext: undefined };
  const decoded = decode<unknown>(bytes, what);
  if (decoded === undefined) return { options: DEFAULT_STORED, traceContext: undefined };
  if (!isPlainObject(decoded)) throw new DecodeError(`${what} are ${shown(decoded)}, not a map of options`);
  const wrong = (key: string, expected: string): DecodeError => new DecodeError(`${what}: '${key}' is ${shown(decoded[key])}, not ${expected}`);
  const { attempts, backoff, keepCompleted, keepFailed, timeout, delay, group, dedupe, meta, labels, batch } = decoded;
  if (attempts !== undefined && !isCount(attempts, 1)) throw wrong('attempts', 'an integer >= 1');
  if (
    backoff !== undefined &&
    !(isPlainObject(backoff) && typeof backoff.type === 'string' && isOptionalNumber(backoff.delay) && isOptionalNumber(backoff.jitter) && isOptionalNumber(backoff.maxDelay))
  ) {
    throw wrong('backoff', 'a backoff ({ type, delay?, jitter?, maxDelay? })');
  }
  if (keepCompleted !== undefined && !isKeep(keepCompleted)) throw wrong('keepCompleted', 'a retention ({ count, age })');
  if (keepFailed !== undefined && !isKeep(keepFailed)) throw wrong('keepFailed', 'a retention ({ count, age })');
  if (timeout !== undefined && !isCount(timeout, 1)) throw wrong('timeout', 'an integer >= 1');
  if (delay !== undefined && !(typeof delay === 'number' && Number.isFinite(delay) && delay >= 0)) throw wrong('delay', 'a number >= 0');
  if (group !== undefined && typeof group !== 'string') throw wrong('group', 'a string');
  if (dedupe !== undefined && !isStoredDedupe(dedupe)) throw wrong('dedupe', 'a dedupe option ({ key, ttl?, debounce? })');
  if (labels !== undefined && !isStoredLabels(labels)) throw wrong('labels', 'an array of labels');
  if (meta !== undefined) readStoredMeta(meta, what);
  if (batch !== undefined && typeof batch !== 'string') throw wrong('batch', 'a string');
  const options = expandOptions(decoded);
  const traceContext = decoded[TRACE_CONTEXT_KEY];
  // Links and the pass are only ever stored beside a creation context: an untraced job reads neither.
  if (traceContext === undefined) return { options, traceContext };
  const traceLinks = decoded[TRACE_LINKS_KEY];
  const traced = traceLinks === undefined ? { options, traceContext } : { options, traceContext, traceLinks };
  return decoded[TRACE_PASS_KEY] === 1 ? { ...traced, passesTrace: true } : traced;
}

/**
 * Defaults are passed on as the very same objects (normalizeJobOptions), so identity settles most jobs;
 * the JSON comparison before it was 7% of a producer's CPU in a bulk add (node --cpu-prof).
 */
function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export function defaultPriority(levels: number): number {
  return Math.floor((levels - 1) / 2);
}

const JOB_OPTION_NAMES = new Set([
  'jobId', 'delay', 'runAt', 'priority', 'attempts', 'backoff', 'removeOnComplete', 'removeOnFail', 'timeout', 'group', 'dedupe', 'meta', 'labels',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A group name: part of its keys (`group:<g>:wait`), so two names Redis would store alike would be one group. */
export function assertGroupName(group: unknown): string {
  if (typeof group !== 'string' || group.length === 0 || group.length > 256) {
    throw new ValidationError(`group must be a string of 1 to 256 characters, got ${JSON.stringify(group)}`);
  }
  assertWellFormed(`group '${group}'`, group, 'two groups would be one');
  return group;
}

export function assertInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new ValidationError(`${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

/** An integer number of ms that a Node timer will wait: from `min` to MAX_TIMER_MS. */
export function assertDuration(name: string, value: unknown, min: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > MAX_TIMER_MS) {
    throw new ValidationError(`${name} must be at most ${MAX_TIMER_MS} ms (Node's timer limit), got ${value}`);
  }
  return assertInteger(name, value, min, MAX_TIMER_MS);
}

function assertNumber(name: string, value: unknown, min: number, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ValidationError(`${name} must be a finite number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function normalizeKeep(name: string, value: RemoveOption | undefined, fallback: Keep): Keep {
  if (value === undefined) return fallback;
  if (value === true) return { count: 0, age: -1 };
  if (value === false) return KEEP_ALL;
  if (typeof value === 'number') return { count: assertInteger(name, value, 0), age: -1 };
  if (!isPlainObject(value)) {
    throw new ValidationError(`${name} must be true, false, a count, or { count, age }, got ${typeof value}`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'count' && key !== 'age') {
      throw new ValidationError(`${name} has an unknown field '${key}'; use { count, age } (age in seconds)`);
    }
  }
  return {
    count: value.count === undefined ? -1 : assertInteger(`${name}.count`, value.count, 0),
    age: value.age === undefined ? -1 : assertInteger(`${name}.age`, value.age, 0),
  };
}

function normalizeBackoff(value: unknown): BackoffOptions {
  if (!isPlainObject(value) || typeof value.type !== 'string' || value.type.length === 0) {
    throw new ValidationError(
      `backoff must be { type: 'exponential' | 'fixed' | <a strategy name registered on the Worker>, delay }, got ${JSON.stringify(value)}`,
    );
  }
  const delay = value.delay === undefined ? undefined : assertNumber('backoff.delay', value.delay, 0, MAX_RETRY_DELAY_MS);
  if (value.jitter !== undefined) assertNumber('backoff.jitter', value.jitter, 0, 1);
  if (value.type === 'fixed') {
    if (delay === undefined) throw new ValidationError(`backoff { type: 'fixed' } needs a delay in ms`);
    return { type: 'fixed', delay, ...(value.jitter === undefined ? {} : { jitter: value.jitter as number }) };
  }
  if (value.type === 'exponential') {
    const maxDelay = value.maxDelay === undefined ? undefined : assertNumber('backoff.maxDelay', value.maxDelay, 0, MAX_RETRY_DELAY_MS);
    return {
      type: 'exponential',
      delay: delay ?? 1000,
      jitter: (value.jitter as number | undefined) ?? 0.5,
      ...(maxDelay === undefined ? {} : { maxDelay }),
    };
  }
  return { type: value.type, ...(delay === undefined ? {} : { delay }) };
}

function checkKnownOptions(options: Record<string, unknown>, allowed: Set<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) {
      throw new ValidationError(`unknown ${what} '${key}'; known ones are: ${[...allowed].join(', ')}`);
    }
  }
}

export interface NormalizedJob {
  jobId?: string;
  priority: number;
  /** ms after Redis' clock to wait (delay), or -1. */
  delay: number;
  /** absolute ms (runAt), or -1. */
  runAt: number;
  stored: StoredJobOptions;
}

/**
 * Merges queue defaults with the job's options and validates the result. `levels` bounds `priority`.
 */
export function normalizeJobOptions(
  options: JobOptions | undefined,
  defaults: DefaultJobOptions,
  levels: number,
): NormalizedJob {
  if (options !== undefined && !isPlainObject(options)) {
    throw new ValidationError(`job options must be an object, got ${typeof options}`);
  }
  const opts: JobOptions = { ...defaults, ...options };
  checkKnownOptions(opts as Record<string, unknown>, JOB_OPTION_NAMES, 'job option');

  let jobId: string | undefined;
  if (opts.jobId !== undefined) {
    if (typeof opts.jobId !== 'string' || opts.jobId.length === 0 || opts.jobId.length > 256) {
      throw new ValidationError(`jobId must be a string of 1 to 256 characters, got ${JSON.stringify(opts.jobId)}`);
    }
    if (/^\d+$/.test(opts.jobId)) {
      throw new ValidationError(
        `jobId '${opts.jobId}' is all digits; such ids are reserved for generated ids. Prefix it, e.g. 'order-${opts.jobId}'`,
      );
    }
    assertWellFormed('jobId', opts.jobId, 'two ids could be one job');
    jobId = opts.jobId;
  }
  if (opts.delay !== undefined && opts.runAt !== undefined) {
    throw new ValidationError('give either delay or runAt, not both');
  }
  const delay = opts.delay === undefined ? -1 : assertInteger('delay', opts.delay, 0);
  let runAt = -1;
  if (opts.runAt !== undefined) {
    if (!(opts.runAt instanceof Date) || Number.isNaN(opts.runAt.getTime())) {
      throw new ValidationError(`runAt must be a valid Date, got ${String(opts.runAt)}`);
    }
    runAt = opts.runAt.getTime();
  }
  const priority =
    opts.priority === undefined ? defaultPriority(levels) : assertInteger('priority', opts.priority, 0, levels - 1);
  const stored: StoredJobOptions = {
    attempts: opts.attempts === undefined ? DEFAULT_ATTEMPTS : assertInteger('attempts', opts.attempts, 1, 1_000_000),
    backoff: opts.backoff === undefined ? DEFAULT_BACKOFF : normalizeBackoff(opts.backoff),
    keepCompleted: normalizeKeep('removeOnComplete', opts.removeOnComplete, DEFAULT_KEEP_COMPLETED),
    keepFailed: normalizeKeep('removeOnFail', opts.removeOnFail, KEEP_ALL),
  };
  if (opts.timeout !== undefined) stored.timeout = assertDuration('timeout', opts.timeout, 1);
  if (opts.group !== undefined) stored.group = assertGroupName(opts.group);
  if (delay > 0) stored.delay = delay;
  if (opts.dedupe !== undefined) stored.dedupe = validateDedupe(opts.dedupe, delay);
  if (opts.labels !== undefined) {
    const labels = validateLabels(opts.labels);
    if (labels !== undefined) stored.labels = labels;
  }
  if (opts.meta !== undefined) stored.meta = validateMeta(opts.meta, 'meta');
  return { ...(jobId === undefined ? {} : { jobId }), priority, delay, runAt, stored };
}

/** Validates queue-level defaults once, at construction, so a bad default fails early. */
export function validateDefaultJobOptions(defaults: unknown, levels: number): DefaultJobOptions {
  if (defaults === undefined) return {};
  if (!isPlainObject(defaults)) throw new ValidationError('defaultJobOptions must be an object');
  for (const key of ['jobId', 'delay', 'runAt', 'group', 'dedupe', 'meta', 'labels']) {
    if (key in defaults) throw new ValidationError(`defaultJobOptions may not set '${key}'; set it per job${key === 'meta' ? ' (or give the Queue a context() for every job)' : ''}`);
  }
  normalizeJobOptions(undefined, defaults, levels);
  return defaults;
}

/** A job's name as every producer must give it: 1 to 256 characters. */
export function assertJobName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new ValidationError(`job name must be a string of 1 to 256 characters, got ${JSON.stringify(name)}`);
  }
}

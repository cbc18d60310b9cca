import type { RedisConfigCheck } from './durability.js';
import { ValidationError } from './errors.js';
import { DEFAULT_PREFIX } from './keys.js';
import { assertDuration, assertGroupName, assertInteger, DEFAULT_PRIORITY_LEVELS, MAX_PRIORITY_LEVELS, type DefaultJobOptions } from './options.js';
import type { ConnectionOptions } from './redis/connection.js';
import type { Logger } from './telemetry/logger.js';

/**
 * The options of a queue and their validation, shared by Queue, Worker and Scheduler: every setting is
 * checked once, in the constructor, before anything connects. Also the limits a queue keeps in Redis.
 */

/**
 * A queue-wide rate limit: at most `max` jobs start in any window of `duration` ms, counted across every
 * worker of the queue. Kept in Redis and enforced by the claim script; set it with the Queue option
 * `rateLimit` or {@link Queue.setRateLimit}.
 */
export interface RateLimit {
  /** At most this many jobs start (an integer >= 1)... */
  max: number;
  /** ...in any window of this many ms (an integer >= 1). */
  duration: number;
  /**
   * Space the starts `duration / max` ms apart (GCRA) instead of keeping a sliding window. The sliding window
   * (the default) lets a whole window's worth start at once, so a downstream that counts on its own clock
   * can see up to twice `max` in one of its windows; a smooth limit never lets more than `max + burst` into
   * one while the jitter between the two clocks stays below the spacing.
   *
   * @defaultValue `false` (the sliding window)
   */
  smooth?: boolean;
  /**
   * With `smooth`: how many may start at once after a pause (an integer from 1, strict spacing, to `max`).
   *
   * @defaultValue `1`
   */
  burst?: number;
}

/**
 * A limit on one group's jobs (or, set without a group name, the default rule of every group): a rate
 * (`max` starts per `duration` ms, given together), a concurrency, or both. Set with
 * {@link Queue.setGroupLimit}; a field left out does not limit.
 */
export interface GroupLimit {
  /**
   * At most `max` of the group's jobs start in any window of `duration` ms (an integer >= 1).
   *
   * @defaultValue no rate limit (give `max` and `duration` together)
   */
  max?: number;
  /**
   * The window of `max`, in ms (an integer >= 1).
   *
   * @defaultValue no rate limit (give `max` and `duration` together)
   */
  duration?: number;
  /**
   * At most this many of the group's jobs run at once, across all workers (an integer >= 1).
   *
   * @defaultValue no concurrency limit
   */
  concurrency?: number;
  /**
   * The group's starts spaced `duration / max` apart, as RateLimit's `smooth` (needs `max` and `duration`).
   *
   * @defaultValue `false` (the sliding window)
   */
  smooth?: boolean;
  /**
   * With `smooth`: how many of the group's jobs may start at once after a pause (an integer from 1 to `max`).
   *
   * @defaultValue `1`
   */
  burst?: number;
}

/** One group's jobs and whether its limits let it start one now ({@link Queue.getGroup}). */
export interface GroupStatus {
  /** Jobs of the group waiting to be admitted. */
  waiting: number;
  /** Jobs of the group running (admitted, not settled yet). */
  active: number;
  /** idle: nothing waiting; ready: served in turn; throttled: its rate window or a hold; full: its concurrency. */
  state: 'idle' | 'ready' | 'throttled' | 'full';
}

/** The groups limits hold back right now (queue.getLimitedGroups). */
export interface LimitedGroups {
  /** Held by their rate window or a RateLimitError hold, the soonest free first, with when they may start. */
  throttled: ({
    /** The group's name. */
    group: string;
    /** When its window or hold lets it start a job again. */
    until: Date;
  } & Omit<GroupStatus, 'state'>)[];
  /** At their concurrency limit, by name. */
  full: ({
    /** The group's name. */
    group: string;
  } & Omit<GroupStatus, 'state'>)[];
  /** All throttled groups; more than `throttled` lists when past the limit asked for. */
  throttledTotal: number;
  /** All groups at their concurrency limit; more than `full` lists when past the limit asked for. */
  fullTotal: number;
  /** Groups with waiting jobs (ready, throttled or full). */
  withWork: number;
}

/** The queue-wide limit as it stands now (queue.getRateWindow). */
export interface RateWindow {
  /** The queue-wide rate limit, or null when there is none. */
  limit: RateLimit | null;
  /**
   * Jobs started in the last `limit.duration` ms (0 without a limit: starts are logged only under one; 0
   * under a smooth limit too, which keeps one time instead of a log).
   */
  started: number;
  /** Until when a RateLimitError holds the whole queue, or null. */
  heldUntil: Date | null;
}

/**
 * The options of a {@link Queue}: how to reach Redis, the queue's shape in Redis, defaults for its jobs,
 * and how long calls wait for Redis. Every setting is validated in the constructor, before anything
 * connects (a bad one throws {@link ValidationError}). A Worker takes the same queue settings
 * ({@link WorkerOptions}); `prefix` and `priorityLevels` must be the same wherever the queue is used.
 */
export interface QueueOptions {
  /**
   * How to reach Redis: `{ url }`, ioredis options, an ioredis `Redis` or `Cluster` instance (never closed
   * by sluice), or a cluster's startup nodes. See {@link ConnectionOptions}.
   */
  connection: ConnectionOptions;
  /**
   * First part of every key: queues with different prefixes are separate. Non-empty, without braces or
   * white space.
   *
   * @defaultValue `'sluice'`
   */
  prefix?: string;
  /**
   * Number of priority levels (one stream each), 1 to 32; the same everywhere the queue is used, or the
   * first call rejects with {@link ConfigMismatchError}.
   *
   * @defaultValue `3`
   */
  priorityLevels?: number;
  /**
   * Defaults for every job added through this Queue; each job may override them. May not set `jobId`,
   * `delay`, `runAt` or `group`. Validated in the constructor.
   *
   * @defaultValue `{}`: each option's own default
   */
  defaultJobOptions?: DefaultJobOptions;
  /**
   * Largest encoded job data, job options, progress or return value accepted, in bytes; past it,
   * {@link PayloadTooLargeError}.
   *
   * @defaultValue `524288` (512 KiB)
   */
  maxPayloadBytes?: number;
  /**
   * Length the events stream is capped at (approximately, in events); 0 turns events off, and with them
   * QueueEvents and `Job.waitUntilFinished`.
   *
   * @defaultValue `10000`
   */
  eventsMaxLen?: number;
  /**
   * Newest log lines kept per job (job.log); 0 keeps all.
   *
   * @defaultValue `1000`
   */
  keepLogs?: number;
  /**
   * Queue-wide rate limit, written to Redis on first use (the same as calling setRateLimit).
   *
   * @defaultValue none: the limit in Redis, if any, is left as it is
   */
  rateLimit?: RateLimit;
  /**
   * At first use, check that Redis cannot lose jobs on its own (maxmemory-policy noeviction, some
   * persistence): 'warn' prints a process warning naming the risk (once per Redis and process), 'error'
   * refuses with RedisConfigError, 'off' skips it.
   *
   * @defaultValue `'warn'`
   */
  redisConfig?: RedisConfigCheck;
  /**
   * A pino logger for sluice's own log lines (debug: jobs added, started, completed; info: retries; warn:
   * jobs failed for good; error: worker errors no listener took) and the parent of every `job.logger`.
   * Job data and return values are never logged.
   *
   * @defaultValue none: sluice logs nothing of its own
   */
  logger?: Logger;
  /**
   * Longest wait for Redis' answer to a command this Queue sent (ms, 1 to 2,147,483,647). Past it the call
   * rejects with RedisTimeoutError. Applies to connections sluice opens, not to an ioredis instance you pass.
   *
   * @defaultValue `5000`
   */
  commandTimeout?: number;
  /**
   * Longest wait for a lost connection to come back before a call rejects with RedisUnavailableError
   * (ms, 0 to 2,147,483,647); nothing was sent then.
   *
   * @defaultValue `5000`
   */
  offlineTimeout?: number;
  /**
   * Most add calls waiting for a lost connection at once; more reject at once with RedisUnavailableError.
   *
   * @defaultValue `1000`
   */
  maxOfflineCalls?: number;
  /**
   * add() resolves only once `replicas` replicas confirmed the write (Redis WAIT), or rejects with
   * ReplicationError after `timeoutMs` (the job then exists on the primary).
   *
   * @defaultValue none: `add()` resolves once the primary has the job
   */
  durability?: Durability;
  /**
   * Called at every add (and for every job of an addBulk), in the caller's async context: what it returns
   * becomes the job's meta (`job.meta`), under the job's own `meta` option. Read the request's tenant or
   * user from your AsyncLocalStorage here. Undefined or `{}`: the job has no meta and costs nothing more.
   * Typed `object` so an interface your store already has fits; its values are checked at each add
   * (strings, finite numbers, booleans; ValidationError otherwise).
   *
   * @defaultValue none: jobs carry only the meta given per job
   */
  context?: () => object | undefined;
  /**
   * Meta keys that show in `job.logger` lines and the worker's own log lines (under `meta`), and as
   * attributes of the process span (`messaging.sluice.job.meta.<key>`). Default none: meta may hold ids a
   * team does not want in every log line.
   *
   * @defaultValue `[]`: no meta in logs or spans
   */
  telemetryMeta?: readonly string[];
}

/**
 * The Queue option `durability`: how many replicas must confirm an add before it resolves, and for how
 * long to wait for them.
 */
export interface Durability {
  /** Replicas that must confirm each add (Redis WAIT), 1 to 100. */
  replicas: number;
  /** Longest wait for them, in ms; must be shorter than the Queue's `commandTimeout`. */
  timeoutMs: number;
}

/**
 * 512 KiB: ordinary payloads are under 1 KiB; this bound keeps a claim of 100 jobs under 50 MiB and stops
 * the classic mistake (a whole file in the job) with a clear error instead of a slow Redis.
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024;
export const DEFAULT_EVENTS_MAX_LEN = 10_000;
export const DEFAULT_KEEP_LOGS = 1000;
/**
 * 5 s: a Redis command answers in well under a millisecond and a 1,000-job add chunk in about one, so 5 s
 * means Redis is frozen, failing over or unreachable; long enough to ride out a Sentinel failover's
 * usual 1-3 s, short enough that a web request adding a job fails before its own timeout.
 */
const DEFAULT_COMMAND_TIMEOUT = 5000;
const DEFAULT_OFFLINE_TIMEOUT = 5000;
/** Bounds the memory of calls held while Redis is away: 1,000 adds of up to 512 KiB is the worst case. */
const DEFAULT_MAX_OFFLINE_CALLS = 1000;

/** How a Queue talks to Redis: its bounded waits and the replication it waits for. */
export interface ProducerSettings {
  commandTimeout: number;
  offlineTimeout: number;
  maxOfflineCalls: number;
  durability: Durability | undefined;
}

export function producerSettings(options: Pick<QueueOptions, 'commandTimeout' | 'offlineTimeout' | 'maxOfflineCalls' | 'durability'>): ProducerSettings {
  const commandTimeout = assertDuration('commandTimeout', options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT, 1);
  return {
    commandTimeout,
    offlineTimeout: assertDuration('offlineTimeout', options.offlineTimeout ?? DEFAULT_OFFLINE_TIMEOUT, 0),
    maxOfflineCalls: assertInteger('maxOfflineCalls', options.maxOfflineCalls ?? DEFAULT_MAX_OFFLINE_CALLS, 0),
    durability: validateDurability(options.durability, commandTimeout),
  };
}

function validateDurability(durability: unknown, commandTimeout: number): Durability | undefined {
  if (durability === undefined) return undefined;
  if (typeof durability !== 'object' || durability === null) {
    throw new ValidationError('durability takes { replicas, timeoutMs }, for example { replicas: 1, timeoutMs: 1000 }');
  }
  const { replicas, timeoutMs } = durability as Record<string, unknown>;
  const checked = { replicas: assertInteger('durability.replicas', replicas, 1, 100), timeoutMs: assertInteger('durability.timeoutMs', timeoutMs, 1) };
  if (checked.timeoutMs >= commandTimeout) {
    throw new ValidationError(
      `durability.timeoutMs (${checked.timeoutMs} ms) must be shorter than commandTimeout (${commandTimeout} ms), ` +
        `or every slow replication would surface as a timeout instead of a ReplicationError`,
    );
  }
  return checked;
}

/** Settings shared by Queue and Worker: validated once here. */
export interface QueueSettings {
  prefix: string;
  levels: number;
  maxPayloadBytes: number;
  eventsMaxLen: number;
  keepLogs: number;
  redisConfig: RedisConfigCheck;
  telemetryMeta: readonly string[];
}

export function queueSettings(options: Omit<QueueOptions, 'connection' | 'defaultJobOptions' | 'rateLimit' | 'context'>): QueueSettings {
  const redisConfig = options.redisConfig ?? 'warn';
  if (redisConfig !== 'warn' && redisConfig !== 'error' && redisConfig !== 'off') {
    throw new ValidationError(`redisConfig must be 'warn', 'error' or 'off', got ${JSON.stringify(redisConfig)}`);
  }
  return {
    prefix: options.prefix ?? DEFAULT_PREFIX,
    levels: assertInteger('priorityLevels', options.priorityLevels ?? DEFAULT_PRIORITY_LEVELS, 1, MAX_PRIORITY_LEVELS),
    maxPayloadBytes: assertInteger('maxPayloadBytes', options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, 1),
    eventsMaxLen: assertInteger('eventsMaxLen', options.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN, 0),
    keepLogs: assertInteger('keepLogs', options.keepLogs ?? DEFAULT_KEEP_LOGS, 0),
    redisConfig,
    telemetryMeta: validateTelemetryMeta(options.telemetryMeta),
  };
}

function validateTelemetryMeta(keys: unknown): readonly string[] {
  if (keys === undefined) return [];
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string' && key.length > 0)) {
    throw new ValidationError(`telemetryMeta must be an array of meta key names, got ${JSON.stringify(keys)}`);
  }
  return Object.freeze([...new Set(keys as string[])]);
}

export function validateRateLimit(limit: unknown, what: string): RateLimit {
  if (typeof limit !== 'object' || limit === null) throw new ValidationError(`${what} takes { max, duration }, or { max, duration, smooth: true, burst }`);
  const { max, duration, smooth, burst } = limit as Record<string, unknown>;
  const rate = { max: assertInteger(`${what}: max`, max, 1), duration: assertInteger(`${what}: duration (ms)`, duration, 1) };
  return { ...rate, ...validateSmooth(what, rate.max, smooth, burst) };
}

/** `smooth` and `burst` of a rate: a burst only with smooth, from 1 to max (max at once is the sliding window's worst). */
function validateSmooth(what: string, max: number, smooth: unknown, burst: unknown): Pick<RateLimit, 'smooth' | 'burst'> {
  if (smooth !== undefined && typeof smooth !== 'boolean') throw new ValidationError(`${what}: smooth must be true or false, got ${JSON.stringify(smooth) ?? typeof smooth}`);
  if (smooth !== true) {
    if (burst !== undefined) throw new ValidationError(`${what}: burst applies to a smooth limit; add smooth: true, or leave burst out`);
    return {};
  }
  return { smooth: true, burst: burst === undefined ? 1 : assertInteger(`${what}: burst`, burst, 1, max) };
}

export function validateGroupLimit(limit: unknown): GroupLimit {
  if (typeof limit !== 'object' || limit === null) throw new ValidationError('setGroupLimit takes { max, duration, concurrency, smooth, burst }');
  const { max, duration, concurrency, smooth, burst, ...rest } = limit as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ValidationError(`setGroupLimit: unknown field '${unknown[0]}'; use max, duration, concurrency, smooth and burst`);
  if ((max === undefined) !== (duration === undefined)) {
    throw new ValidationError('setGroupLimit: give max and duration together (at most max starts per duration ms)');
  }
  if (max === undefined && concurrency === undefined) {
    throw new ValidationError('setGroupLimit: give { max, duration }, { concurrency }, or all three');
  }
  if (max === undefined && (smooth !== undefined || burst !== undefined)) {
    throw new ValidationError('setGroupLimit: smooth and burst shape a rate; give max and duration with them');
  }
  const rate = max === undefined ? undefined : { max: assertInteger('setGroupLimit: max', max, 1), duration: assertInteger('setGroupLimit: duration (ms)', duration, 1) };
  return {
    ...rate,
    ...(concurrency === undefined ? {} : { concurrency: assertInteger('setGroupLimit: concurrency', concurrency, 1) }),
    ...(rate === undefined ? {} : validateSmooth('setGroupLimit', rate.max, smooth, burst)),
  };
}

/** The queue-wide concurrency: at most this many of the queue's jobs run at once, across every worker. */
export function validateConcurrency(concurrency: unknown): number {
  return assertInteger('setConcurrency: concurrency', concurrency, 1);
}

/** '' stands for the default rule of every group. */
export function validateGroupName(group: unknown): string {
  return group === undefined ? '' : assertGroupName(group);
}


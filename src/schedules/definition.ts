import { CronExpressionParser } from 'cron-parser';
import { assertWellFormed } from '../bounds.js';
import { ValidationError } from '../errors.js';
import {
  assertInteger,
  compactOptions,
  expandOptions,
  normalizeJobOptions,
  type DefaultJobOptions,
  type JobOptions,
  type StoredJobOptions,
} from '../options.js';
import { decode, encode } from '../serializer.js';

/**
 * A recurring schedule as a user writes it, validated and encoded for Redis. Validation runs before any
 * Redis I/O, so a bad expression, time zone or interval writes nothing.
 *
 * The encoding is deterministic (a msgpack array in a fixed order, the job's data and options already
 * encoded): the same upsert from every pod at every boot yields the same bytes, and upsert-schedule.lua
 * compares bytes to decide "unchanged".
 */

/** 'once': after an outage, one job for the latest missed tick, then the next future tick. 'skip': no job for missed ticks. */
export type MissedPolicy = 'once' | 'skip';

interface ScheduleBounds {
  /**
   * No run before this instant. For `every`, also the phase: runs at startAt + k × every.
   *
   * @defaultValue none: from now on
   */
  startAt?: Date;
  /**
   * No run after this instant (inclusive); then the schedule ends. Not before `startAt`.
   *
   * @defaultValue none: no end
   */
  endAt?: Date;
  /**
   * Runs after which the schedule ends (an integer >= 1).
   *
   * @defaultValue none: no limit
   */
  limit?: number;
  /**
   * What happens to ticks missed because nothing was running.
   *
   * @defaultValue `'once'`
   */
  missed?: MissedPolicy;
}

/** A schedule whose ticks a cron expression gives, read in a time zone. */
export interface CronSchedule extends ScheduleBounds {
  /**
   * A cron expression: 5 fields, or 6 with seconds first (cron-parser syntax, e.g. '0 9 * * 1-5'). `H`
   * (hashed, as in Jenkins) stands for a value picked from the schedule id: the same in every process.
   */
  cron: string;
  /**
   * IANA time zone the expression is read in ('Europe/Berlin'); stored under its canonical name.
   *
   * @defaultValue `'UTC'`
   */
  tz?: string;
}

/** A schedule that ticks at a fixed interval, aligned to `startAt` or to the Unix epoch. */
export interface EverySchedule extends ScheduleBounds {
  /** Interval in ms; runs at startAt + k × every, or at whole multiples of every since the Unix epoch. */
  every: number;
}

/** When a schedule's ticks fall: exactly one of `cron` and `every`, with optional bounds. */
export type ScheduleSpec = CronSchedule | EverySchedule;

/** Job options a schedule's jobs take: all but jobId, delay and runAt, which the schedule decides. */
export type ScheduleJobOptions = Omit<JobOptions, 'jobId' | 'delay' | 'runAt' | 'dedupe' | 'labels'>;

/** The job each tick enqueues. */
export interface ScheduleJob<Data> {
  /** The job's name, 1 to 256 characters. */
  name: string;
  /** The job's data, the same for every tick, at most `maxPayloadBytes` once encoded. */
  data: Data;
  /**
   * The jobs' options, over the Queue's `defaultJobOptions`. Each tick's job id is `<schedule id>:<tick ms>`.
   *
   * @defaultValue none: the Queue's `defaultJobOptions` alone
   */
  opts?: ScheduleJobOptions;
}

/** A schedule as getSchedules() reports it. */
export interface ScheduleInfo<Data = unknown> {
  /** The schedule's id. */
  id: string;
  /** The schedule with its defaults filled in (tz, missed). */
  spec: ScheduleSpec;
  /** The job each tick enqueues; opts as stored, like Job#opts. */
  job: {
    /** The job's name. */
    name: string;
    /** The job's data, decoded. */
    data: Data;
    /** The priority level its jobs are added at. */
    priority: number;
    /** The jobs' options with every default filled in, as {@link Job.opts}. */
    opts: StoredJobOptions;
  };
  /** The next run, or null when the schedule has ended (limit or endAt reached). */
  next: Date | null;
  /** Jobs this schedule has enqueued so far. */
  runs: number;
}

/** When a schedule's ticks fall; -1 stands for "not set" in every and limit, null in the instants. */
export interface Timing {
  cron: string;
  tz: string;
  every: number;
  /** ms since the epoch; negative before 1970. */
  startAt: number | null;
  endAt: number | null;
  limit: number;
  missed: MissedPolicy;
  /** What cron-parser derives H fields from: the schedule id. Not encoded: the id is the definition's key. */
  hashSeed: string;
}

export interface ScheduleDefinition {
  timing: Timing;
  name: string;
  /** Encoded job data and options, exactly as each tick's job hash stores them. */
  data: Buffer;
  opts: Buffer;
  prio: number;
  group: string;
}

/** 200 characters: tick job ids are `<id>:<ms>` (14 more) and job ids stop at 256. */
export const MAX_SCHEDULE_ID = 200;
/**
 * Bumped if the encoding ever changes, so an old definition is recognised instead of misread. 2: an unset
 * startAt or endAt is nil; version 1 wrote -1, which is also an instant (1969-12-31T23:59:59.999Z).
 */
const VERSION = 2;
const SPEC_FIELDS = new Set(['cron', 'tz', 'every', 'startAt', 'endAt', 'limit', 'missed']);
const FORBIDDEN_JOB_OPTIONS = ['jobId', 'delay', 'runAt', 'dedupe', 'labels'];

export function validateScheduleId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SCHEDULE_ID) {
    throw new ValidationError(`schedule id must be a string of 1 to ${MAX_SCHEDULE_ID} characters, got ${JSON.stringify(id)}`);
  }
  assertWellFormed(`schedule id '${id}'`, id, 'two schedules would be one');
  return id;
}

function instant(name: string, value: unknown): number | null {
  if (value === undefined) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new ValidationError(`schedule ${name} must be a valid Date, got ${value instanceof Date ? 'an invalid Date' : JSON.stringify(value)}`);
  }
  return value.getTime();
}

/** The canonical IANA name, so 'europe/berlin' and 'Europe/Berlin' encode the same. */
function validateTimeZone(tz: unknown): string {
  if (tz === undefined) return 'UTC';
  if (typeof tz !== 'string' || tz.length === 0) throw new ValidationError(`schedule tz must be an IANA time zone name such as 'Europe/Berlin', got ${JSON.stringify(tz)}`);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new ValidationError(`schedule tz '${tz}' is not a time zone this Node.js knows; use an IANA name such as 'Europe/Berlin' or 'UTC'`);
  }
}

function validateCron(expression: unknown, tz: string, hashSeed: string): string {
  if (typeof expression !== 'string' || expression.trim().length === 0) {
    throw new ValidationError(`schedule cron must be a cron expression such as '0 9 * * 1-5', got ${JSON.stringify(expression)}`);
  }
  try {
    // Not cron-parser's strict mode: it also demands the 6-field form, and '0 9 * * 1-5' is what users write.
    CronExpressionParser.parse(expression, { tz, currentDate: 0, hashSeed }).next();
  } catch (error) {
    throw new ValidationError(`schedule cron '${expression}' is not valid: ${(error as Error).message}`);
  }
  return expression.trim();
}

/** `scheduleId` seeds the expression's H fields, so its ticks are the same wherever they are computed. */
export function validateTiming(spec: unknown, scheduleId: string): Timing {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ValidationError(`a schedule is { cron, tz? } or { every } (with optional startAt, endAt, limit, missed), got ${typeof spec}`);
  }
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!SPEC_FIELDS.has(key)) throw new ValidationError(`unknown schedule field '${key}'; known ones are: ${[...SPEC_FIELDS].join(', ')}`);
  }
  const hasCron = s.cron !== undefined;
  if (hasCron === (s.every !== undefined)) throw new ValidationError('a schedule takes exactly one of cron and every');
  if (!hasCron && s.tz !== undefined) throw new ValidationError('schedule tz applies to cron only; every counts ms and has no time zone');
  const tz = hasCron ? validateTimeZone(s.tz) : '';
  const cron = hasCron ? validateCron(s.cron, tz, scheduleId) : '';
  const every = hasCron ? -1 : assertInteger('schedule every (ms)', s.every, 1);
  const startAt = instant('startAt', s.startAt);
  const endAt = instant('endAt', s.endAt);
  if (startAt !== null && endAt !== null && endAt < startAt) {
    throw new ValidationError(`schedule endAt is before its startAt (${new Date(endAt).toISOString()} < ${new Date(startAt).toISOString()}): it would never run`);
  }
  const limit = s.limit === undefined ? -1 : assertInteger('schedule limit (runs)', s.limit, 1);
  const missed = s.missed ?? 'once';
  if (missed !== 'once' && missed !== 'skip') throw new ValidationError(`schedule missed must be 'once' or 'skip', got ${JSON.stringify(missed)}`);
  return { cron, tz, every, startAt, endAt, limit, missed, hashSeed: scheduleId };
}

/** Validates and encodes a schedule and its job; throws ValidationError (or an encode error) before any I/O. */
export function prepareSchedule(
  id: string,
  spec: unknown,
  job: unknown,
  defaults: DefaultJobOptions,
  levels: number,
  maxPayloadBytes: number,
): { definition: ScheduleDefinition; encoded: Buffer } {
  const timing = validateTiming(spec, id);
  if (typeof job !== 'object' || job === null) throw new ValidationError('a schedule needs its job: { name, data, opts? }');
  const { name, data, opts } = job as { name?: unknown; data?: unknown; opts?: unknown };
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new ValidationError(`schedule job name must be a string of 1 to 256 characters, got ${JSON.stringify(name)}`);
  }
  if (typeof opts === 'object' && opts !== null) {
    for (const key of FORBIDDEN_JOB_OPTIONS) {
      if (key in opts) throw new ValidationError(`a schedule's job may not set '${key}': the schedule decides each job's id and time`);
    }
  }
  const normalized = normalizeJobOptions(opts as JobOptions | undefined, defaults, levels);
  const definition: ScheduleDefinition = {
    timing,
    name,
    data: encode(data, 'schedule job data', maxPayloadBytes),
    opts: encode(compactOptions(normalized.stored), 'schedule job options', maxPayloadBytes),
    prio: normalized.priority,
    group: normalized.stored.group ?? '',
  };
  return { definition, encoded: encodeDefinition(definition) };
}

export function encodeDefinition(d: ScheduleDefinition): Buffer {
  const t = d.timing;
  const fields = [VERSION, t.cron, t.tz, t.every, t.startAt, t.endAt, t.limit, t.missed, d.name, d.data, d.opts, d.prio, d.group];
  // No size limit here: data and options were each checked against maxPayloadBytes already.
  return encode(fields, 'schedule', Number.MAX_SAFE_INTEGER);
}

/** `id` is the schedule's: the seed of its H fields. */
export function decodeDefinition(bytes: Buffer, id: string): ScheduleDefinition {
  const fields = decode<unknown[]>(bytes);
  if (!Array.isArray(fields) || fields[0] !== VERSION || fields.length !== 13) {
    throw new ValidationError('a stored schedule has an encoding this version of sluice does not know; upsert it again');
  }
  const [, cron, tz, every, startAt, endAt, limit, missed, name, data, opts, prio, group] = fields as [
    number, string, string, number, number | null, number | null, number, MissedPolicy, string, Uint8Array, Uint8Array, number, string,
  ];
  return {
    timing: { cron, tz, every, startAt, endAt, limit, missed, hashSeed: id },
    name,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    opts: Buffer.from(opts.buffer, opts.byteOffset, opts.byteLength),
    prio,
    group,
  };
}

/** The schedule as the user wrote it, defaults filled in. */
export function describeSpec(t: Timing): ScheduleSpec {
  const bounds: ScheduleBounds = {
    ...(t.startAt !== null ? { startAt: new Date(t.startAt) } : {}),
    ...(t.endAt !== null ? { endAt: new Date(t.endAt) } : {}),
    ...(t.limit > 0 ? { limit: t.limit } : {}),
    missed: t.missed,
  };
  return t.cron !== '' ? { cron: t.cron, tz: t.tz, ...bounds } : { every: t.every, ...bounds };
}

export function describeJob<Data>(d: ScheduleDefinition): ScheduleInfo<Data>['job'] {
  return {
    name: d.name,
    data: decode<Data>(d.data) as Data,
    priority: d.prio,
    opts: expandOptions(decode<Partial<StoredJobOptions>>(d.opts)),
  };
}

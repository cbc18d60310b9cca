import { assertWellFormed } from './bounds.js';
import { ValidationError } from './errors.js';

/**
 * The `dedupe` job option: what it means, and its validation. The locks themselves live in Redis
 * (lua/includes/dedupe.lua) and adds that carry the option go through lua/add-deduped.lua, one call each;
 * adds without it never read or write a lock.
 */
export interface DedupeOptions {
  /**
   * Adds that give the same key share one job. Unlike `jobId`, the key is not the job's identity: once the
   * job finished (or its window ended) the key adds a new job, with an id of its own.
   */
  key: string;
  /**
   * ms. Without it the key is held while its job is unfinished (waiting, delayed, running, retrying). With
   * it, throttle: for `ttl` ms after the add that made the job, adds return that job whatever its state.
   *
   * @defaultValue none: the key is held while its job is unfinished
   */
  ttl?: number;
  /**
   * With `ttl` and the job option `delay`: each add within the window (renewed for `ttl` ms by every add)
   * gives the job that has not started yet its data and moves its start to `delay` ms after that add, so it
   * runs once, with the last data. An add after it started makes a new job.
   *
   * @defaultValue `false`
   */
  debounce?: boolean;
}

const NAMES = new Set(['key', 'ttl', 'debounce']);

/** Checks the option as a job gives it; `delay` is the job's delay option (-1 for none). */
export function validateDedupe(value: unknown, delay: number): DedupeOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`dedupe must be { key, ttl?, debounce? }, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const given = value as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!NAMES.has(name)) throw new ValidationError(`dedupe has an unknown field '${name}'; use { key, ttl?, debounce? }`);
  }
  const { key, ttl, debounce } = given;
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new ValidationError(`dedupe.key must be a string of 1 to 256 characters, got ${JSON.stringify(key)}`);
  }
  assertWellFormed('dedupe.key', key, 'two keys could be one');
  const out: DedupeOptions = { key };
  if (ttl !== undefined) {
    if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1) throw new ValidationError(`dedupe.ttl must be an integer number of ms >= 1, got ${JSON.stringify(ttl) ?? typeof ttl}`);
    out.ttl = ttl;
  }
  if (debounce !== undefined && typeof debounce !== 'boolean') throw new ValidationError(`dedupe.debounce must be true or false, got ${typeof debounce}`);
  if (debounce === true) {
    if (out.ttl === undefined) throw new ValidationError('dedupe.debounce needs dedupe.ttl: the window within which adds replace the pending job');
    if (delay <= 0) throw new ValidationError('dedupe.debounce needs the job option delay: how long after the latest add the job starts');
    out.debounce = true;
  }
  return out;
}

/** Whether a stored options value is a dedupe option as validateDedupe writes one. */
export function isStoredDedupe(value: unknown): value is DedupeOptions {
  if (typeof value !== 'object' || value === null) return false;
  const { key, ttl, debounce } = value as Record<string, unknown>;
  return typeof key === 'string' && (ttl === undefined || typeof ttl === 'number') && (debounce === undefined || typeof debounce === 'boolean');
}

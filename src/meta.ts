import { assertWellFormed } from './bounds.js';
import { DecodeError, ValidationError } from './errors.js';
import type { JobOptions } from './options.js';
import { encode } from './serializer.js';

/**
 * A job's meta: small plain metadata a producer stamps on a job (the tenant and user of the request that
 * added it, a request id), read by the worker as `job.meta`. It rides in the job's stored options (key
 * `meta`, as the trace context rides under `tc`), so every home of a job carries it as it carries the
 * options: retries, stalls, promotion, schedules and records keep it with no script change, and a job
 * without meta stores, packs and decodes nothing more than before.
 */

/** One value of a job's meta (`job.meta`): plain, so it logs, traces and crosses languages as it is. */
export type MetaValue = string | number | boolean;
/**
 * A job's meta as a worker reads it (`job.meta`): plain keys and values, at most 1 KiB encoded, from the
 * Queue's `context()` and the job option `meta`.
 */
export type JobMeta = Readonly<Record<string, MetaValue>>;

/**
 * A job's meta, encoded (msgpack), is at most 1 KiB: it travels in every entry, hash and record of the job
 * and is decoded at every claim, so it is for ids and labels, not payloads (those go in `data`). 1 KiB
 * holds about 30 keys of short ids.
 */
export const MAX_META_BYTES = 1024;
/** Keys are names (`tenant`, `userId`), not data: 64 characters is plenty, and they become attribute names. */
const MAX_META_KEY = 64;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a job's meta as given (`what` names where it came from): a plain object of 1 to 64 character keys
 * and string, finite number or boolean values, at most MAX_META_BYTES encoded. Returns a copy, so a later
 * change to the caller's object does not change the job. ValidationError otherwise: nothing is written.
 */
export function validateMeta(value: unknown, what: string): JobMeta {
  if (!isPlainRecord(value)) {
    throw new ValidationError(`${what} must be a plain object of strings, numbers and booleans, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  const copy: Record<string, MetaValue> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key.length === 0 || key.length > MAX_META_KEY) throw new ValidationError(`${what}: key ${JSON.stringify(key.slice(0, 80))} must be 1 to ${MAX_META_KEY} characters`);
    assertWellFormed(`${what} key '${key}'`, key, 'two keys could be one');
    const ok = typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item));
    if (!ok) {
      throw new ValidationError(`${what}.${key} is ${item === null ? 'null' : typeof item}; meta values are strings, finite numbers or booleans (put richer data in the job's data)`);
    }
    copy[key] = item;
  }
  const size = encode(copy, what, Number.MAX_SAFE_INTEGER).length;
  if (size > MAX_META_BYTES) {
    throw new ValidationError(`${what} is ${size} bytes encoded; the limit is ${MAX_META_BYTES} bytes: keep ids and labels there, and put the rest in the job's data`);
  }
  return copy;
}

/**
 * The meta of one add, not yet checked (normalizeJobOptions checks it once, with the job's other options):
 * the Queue's `context()` result under the job's own `meta`, whose keys win. Undefined when neither gives a
 * key, so such a job takes the path of a job without options.
 */
export function mergedMeta(context: () => unknown, own: unknown): unknown {
  const given = context();
  if (given === undefined) return own;
  if (!isPlainRecord(given)) throw new ValidationError(`the Queue's context() must return a plain object of strings, numbers and booleans, or undefined; got ${Array.isArray(given) ? 'an array' : given === null ? 'null' : typeof given}`);
  if (own === undefined) return Object.keys(given).length === 0 ? undefined : given;
  return isPlainRecord(own) ? { ...given, ...own } : own;
}

/** A job's options with the Queue's `context()` merged into its meta; the very same `opts` when that adds nothing. */
export function withContext(context: () => unknown, opts: JobOptions | undefined): JobOptions | undefined {
  const meta = mergedMeta(context, opts?.meta);
  return meta === opts?.meta ? opts : { ...opts, meta: meta as JobOptions['meta'] };
}

/** Stored meta read back (options.ts readStoredOptions): a map of plain values, or DecodeError. */
export function readStoredMeta(value: unknown, what: string): JobMeta {
  if (!isPlainRecord(value)) throw new DecodeError(`${what}: 'meta' is not a map`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') throw new DecodeError(`${what}: meta '${key.slice(0, 40)}' is not a plain value`);
  }
  return value as JobMeta;
}

import { Packr } from 'msgpackr';
import { DecodeError, EncodeError, PayloadTooLargeError } from './errors.js';

/**
 * The only module that imports msgpackr. One Packr is reused for every job (msgpackr reuses its buffer
 * between calls). `useRecords: false` keeps payloads plain msgpack, readable by any msgpack decoder
 * (a dashboard in another language, redis-cli with a decoder), at the cost of msgpackr's record compression.
 * `useBigIntExtension`: BigInts past 64 bits (amounts in minor units, ledger ids) round-trip instead of throwing.
 * `variableMapSize`: an object's map header takes 1 byte (fixmap) instead of msgpackr's default 3 (map16),
 * 2 bytes of every job's data; a waiting job takes ~150 bytes in all (docs/benchmarks.md).
 */
const packr = new Packr({ useRecords: false, useBigIntExtension: true, variableMapSize: true });

/** Nesting deeper than this is almost surely a cycle; msgpackr itself would overflow the stack. */
const MAX_DEPTH = 64;

/**
 * msgpackr silently drops functions, turns a Map into a plain object and a Set into an array, and overflows
 * the stack on cycles. A job that comes back different from what was added is a lost field, so these are
 * refused up front with the path of the offending value.
 */
function check(value: unknown, path: string, depth: number): void {
  if (value === null) return;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return;
    case 'function':
      throw new EncodeError(`${path} is a function; job data must be plain data (functions cannot be stored)`);
    case 'symbol':
      throw new EncodeError(`${path} is a symbol; job data must be plain data`);
    default:
      break;
  }
  if (depth > MAX_DEPTH) {
    throw new EncodeError(`${path} is nested more than ${MAX_DEPTH} levels deep; is the data circular?`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) check(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  if (value instanceof Date || ArrayBuffer.isView(value)) return;
  if (value instanceof Map || value instanceof Set) {
    throw new EncodeError(
      `${path} is a ${value instanceof Map ? 'Map' : 'Set'}; it would come back as a plain ` +
        `${value instanceof Map ? 'object' : 'array'}: convert it first (Object.fromEntries / Array.from)`,
    );
  }
  for (const key of Object.keys(value)) {
    // An own '__proto__' key (JSON.parse makes them) comes back renamed: msgpackr's guard against
    // prototype pollution. Refused here for the same reason as a Map: the job would not be what was added.
    if (key === '__proto__') {
      throw new EncodeError(`${path} has an own '__proto__' key; msgpack decoding renames it to protect prototypes: rename the key`);
    }
    check((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
  }
}

/** Encodes `value` for storage; `what` names it in errors ("job data", "return value"). */
export function encode(value: unknown, what: string, maxBytes: number): Buffer {
  check(value, what, 0);
  let bytes: Buffer;
  try {
    bytes = packr.pack(value);
  } catch (error) {
    throw new EncodeError(`${what} cannot be encoded with msgpack: ${(error as Error).message}`, { cause: error });
  }
  if (bytes.length > maxBytes) throw new PayloadTooLargeError(what, bytes.length, maxBytes);
  return bytes;
}

/** `what` names the value in the error ("job data"). Throws DecodeError on bytes that are not msgpack. */
export function decode<T>(bytes: Buffer | null | undefined, what = 'stored value'): T | undefined {
  if (bytes === null || bytes === undefined || bytes.length === 0) return undefined;
  try {
    return packr.unpack(bytes) as T;
  } catch (error) {
    throw new DecodeError(`${what} (${bytes.length} bytes) is not valid msgpack: ${(error as Error).message}`, { cause: error });
  }
}

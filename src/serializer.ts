import { Packr, Unpackr } from 'msgpackr';
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

/**
 * msgpackr reads its own record definitions (ext 0x72) wherever they appear, whatever `useRecords` says:
 * bytes written by another client could make objects from them. A decoder whose structures refuse every
 * definition tells them apart; it is used only for bytes that hold the two-byte marker of one (fixext 1 or
 * 2 of type 0x72), so the usual decode is not slowed by a Proxy on every small integer it reads.
 */
const noRecords = new Proxy([] as unknown[], {
  set(target, key, value) {
    // msgpackr's own bookkeeping on the array, not a record definition.
    if (typeof key === 'string' && !/^\d+$/.test(key)) return Reflect.set(target, key, value);
    throw new Error('it holds a msgpackr record definition, which is not plain msgpack');
  },
});
const strict = new Unpackr({ useRecords: false, mapsAsObjects: true, structures: noRecords as never });
const RECORD_FIXEXT1 = Buffer.from([0xd4, 0x72]);
const RECORD_FIXEXT2 = Buffer.from([0xd5, 0x72]);

/**
 * Whether `bytes` hold a record definition's marker anywhere (also inside a string or a binary, which
 * the strict decoder then reads as usual). Two Buffer.includes cost about 260 ns on a 90-byte payload,
 * mostly the call into C++; hopping from one 0x72 byte to the next costs about 20, and a long payload
 * (where hops could add up) goes to memmem instead.
 */
function mayHoldRecord(bytes: Buffer): boolean {
  if (bytes.length > 256) return bytes.includes(RECORD_FIXEXT1) || bytes.includes(RECORD_FIXEXT2);
  for (let at = bytes.indexOf(0x72, 1); at !== -1; at = bytes.indexOf(0x72, at + 1)) {
    const before = bytes[at - 1];
    if (before === 0xd4 || before === 0xd5) return true;
  }
  return false;
}

/**
 * Jobs are plain data (what `check` lets through on the way in); stored bytes written by another client
 * can decode to more (a Set, an Error, a RegExp, msgpackr's 0xC1 marker, a cycle). The name of the first
 * value that is not plain data, or undefined.
 */
function notPlain(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_DEPTH) return `${path} (nested more than ${MAX_DEPTH} levels deep)`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = notPlain(value[i], `${path}[${i}]`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const key in value) {
      const found = notPlain((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Date || ArrayBuffer.isView(value)) return undefined;
  const kind = (proto)?.constructor?.name;
  return `${path} (a ${typeof kind === 'string' ? kind : 'non-plain object'})`;
}

/**
 * `what` names the value in the error ("job data"). Throws DecodeError on bytes that are not msgpack, or
 * that decode to anything but plain data (see notPlain).
 */
export function decode<T>(bytes: Buffer | null | undefined, what = 'stored value'): T | undefined {
  if (bytes === null || bytes === undefined || bytes.length === 0) return undefined;
  let value: unknown;
  try {
    value = mayHoldRecord(bytes) ? strict.unpack(bytes) : packr.unpack(bytes);
  } catch (error) {
    throw new DecodeError(`${what} (${bytes.length} bytes) is not valid msgpack: ${(error as Error).message}`, { cause: error });
  }
  const found = notPlain(value, what, 0);
  if (found !== undefined) throw new DecodeError(`${what} is not plain data: ${found} came out of its ${bytes.length} bytes; jobs hold plain data only`);
  return value as T;
}

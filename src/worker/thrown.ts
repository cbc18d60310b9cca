import { inspect } from 'node:util';
import { cutUtf8, MAX_FAILURE_TEXT_BYTES } from '../bounds.js';

/**
 * What a handler threw, made into an Error a failed attempt can be settled with. Anything can be thrown,
 * and reading it is user code too (a getter, a Proxy trap, toJSON, a custom inspect): nothing here may
 * throw, or the attempt would never settle and its rejection would reach the process.
 */
export function asError(thrown: unknown): Error {
  try {
    if (thrown instanceof Error && typeof thrown.message === 'string' && (thrown.stack === undefined || typeof thrown.stack === 'string')) return thrown;
  } catch {
    // A revoked Proxy throws on instanceof; a getter may throw on message or stack: described below.
  }
  return new Error(describeThrown(thrown));
}

/** A failed attempt's reason and stack as stored: each cut to MAX_FAILURE_TEXT_BYTES of UTF-8. */
export function failureTexts(reason: string, error: Error): { reason: string; stack: string } {
  return { reason: cutUtf8(reason, MAX_FAILURE_TEXT_BYTES), stack: cutUtf8(error.stack ?? '', MAX_FAILURE_TEXT_BYTES) };
}

/**
 * A readable text of a non-Error: a string as it is, JSON where it has one (what earlier versions stored,
 * `{"code":42}`), else util.inspect, which handles what JSON cannot: BigInt, cycles, symbols, undefined,
 * a throwing toJSON.
 */
function describeThrown(thrown: unknown): string {
  if (typeof thrown === 'string') return thrown;
  try {
    const json = JSON.stringify(thrown);
    if (typeof json === 'string') return json;
  } catch {
    // BigInt, a cycle, a throwing toJSON: inspect below.
  }
  try {
    // Bounded so a huge value is not rendered whole only to be cut to 16 KiB.
    return inspect(thrown, { depth: 3, breakLength: Infinity, maxStringLength: MAX_FAILURE_TEXT_BYTES });
  } catch {
    return `a thrown ${typeof thrown} that cannot be shown`;
  }
}

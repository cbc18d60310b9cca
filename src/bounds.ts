import { ValidationError } from './errors.js';

/**
 * The bounds sluice puts on what users and handlers hand it, where more than one module needs them:
 * docs/guide/limits.md lists every bound, with what happens past it.
 */

/** Node's timers take at most 2^31-1 ms (24.8 days); a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A failed attempt's reason and stack are each cut to this many bytes of UTF-8: one huge error message
 * cannot bloat a job hash, and 16 KiB keeps a deep stack whole.
 */
export const MAX_FAILURE_TEXT_BYTES = 16 * 1024;

/**
 * A job.log line is cut to this many bytes of UTF-8 (or to the queue's maxPayloadBytes when that is lower):
 * the same size as a failure reason, so the newest 1,000 lines (keepLogs' default) stay within 16 MiB.
 */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

const encoder = new TextEncoder();

/**
 * The longest start of `text` that takes at most `maxBytes` bytes of UTF-8, never ending inside a
 * character: a surrogate pair stays whole or goes. A lone surrogate counts 3 bytes, what it is stored as
 * (U+FFFD, as Redis receives it).
 */
export function cutUtf8(text: string, maxBytes: number): string {
  // Every UTF-16 unit takes at most 3 bytes of UTF-8: most texts are known to fit without counting.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  // encodeInto writes whole characters only, and says how many UTF-16 units of `text` it took.
  const { read } = encoder.encodeInto(text, new Uint8Array(maxBytes));
  return text.slice(0, read);
}

/**
 * The index of the first lone surrogate in `text`, or -1. Redis receives text as UTF-8, where a lone
 * surrogate becomes U+FFFD: two names that differ only there would be one key.
 */
export function findLoneSurrogate(text: string): number {
  // With the u flag a well-formed pair is one code point, so only lone halves fall in this range.
  return text.search(/[\uD800-\uDFFF]/u);
}

/** Refuses `text` (a queue name, a job id) with a lone surrogate; `collision` says what would merge. */
export function assertWellFormed(what: string, text: string, collision: string): void {
  const index = findLoneSurrogate(text);
  if (index === -1) return;
  // The unit as an escape: printed as itself it is a replacement character at best.
  const unit = `\\u${text.charCodeAt(index).toString(16).toUpperCase()}`;
  throw new ValidationError(`${what} has a lone surrogate (${unit} at index ${index}); Redis would store it as U+FFFD, so ${collision}: use well-formed Unicode`);
}

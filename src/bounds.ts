import { ValidationError } from './errors.js';

/**
 * The bounds sluice puts on what users and handlers hand it, where more than one module needs them:
 * README's "Limits" table lists every bound, with what happens past it.
 */

/** Node's timers take at most 2^31-1 ms (24.8 days); a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

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

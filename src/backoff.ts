import { MAX_TIMER_MS } from './bounds.js';
import type { BackoffOptions } from './options.js';

/**
 * A custom strategy registered on a Worker: returns the ms to wait before retry number `retry` (1-based).
 * Return a negative number to stop retrying and fail the job now.
 */
export type BackoffStrategy = (retry: number, error: Error, options: BackoffOptions) => number;

/**
 * The cap of an exponential backoff without its own `maxDelay`: one hour, reached at retry 13 with the
 * default 1 s base, so the default 11 attempts (longest wait 512 s) never meet it. Without a cap the wait
 * doubles for as long as attempts allow (BullMQ's exponential backoff has none: from a 1 s base, retry 30 waits 17 years);
 * Sidekiq's polynomial schedule stops at about 4.5 days at its 25th retry. An hour, as Google Cloud
 * Scheduler's default maxBackoffDuration, means a job with attempts left tries again within the hour of
 * its downstream coming back; a longer outage is ridden out with more attempts, not longer waits.
 */
export const DEFAULT_MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * No retry waits longer than this, whatever the options or a strategy ask (24.8 days, the bound of every
 * other duration): fail.lua turns now + delay into an int64 due time, which wraps negative (due at once)
 * past 9.2e18. lua/fail.lua clamps to the same number.
 */
export const MAX_RETRY_DELAY_MS = MAX_TIMER_MS;

/** No delay could be had: the strategy is not registered on this worker, or returned no number. */
export class BackoffError extends Error {}

/**
 * Exponential by default, with jitter that only ever shortens the wait ("equal jitter" style): with
 * jitter 0.5 the nth retry waits between 50% and 100% of delay * 2^(n-1). Spreading retries this way
 * keeps a failed downstream from being hit by every job at the same instant when it comes back.
 * Returns whole ms from 0 to MAX_RETRY_DELAY_MS, or -1: do not retry.
 */
export function backoffDelay(
  backoff: BackoffOptions,
  retry: number,
  error: Error,
  strategies: Readonly<Record<string, BackoffStrategy>>,
  random: () => number = Math.random,
): number {
  if (backoff.type === 'fixed' || backoff.type === 'exponential') {
    const base = backoff.delay ?? 1000;
    // 2^64 passes any cap; a larger power only risks 0 * Infinity = NaN for a zero base.
    let delay = backoff.type === 'fixed' ? base : base * 2 ** Math.min(retry - 1, 64);
    if (backoff.type === 'exponential') delay = Math.min(delay, 'maxDelay' in backoff && typeof backoff.maxDelay === 'number' ? backoff.maxDelay : DEFAULT_MAX_DELAY_MS);
    delay = Math.min(delay, MAX_RETRY_DELAY_MS);
    const jitter = 'jitter' in backoff && typeof backoff.jitter === 'number' ? backoff.jitter : 0;
    return Math.round(delay - random() * jitter * delay);
  }
  const strategy = strategies[backoff.type];
  if (strategy === undefined) {
    throw new BackoffError(
      `backoff strategy '${backoff.type}' is not registered on this worker; pass it in the Worker option backoffStrategies`,
    );
  }
  const delay: unknown = strategy(retry, error, backoff);
  if (typeof delay !== 'number' || Number.isNaN(delay)) {
    throw new BackoffError(`backoff strategy '${backoff.type}' returned ${describe(delay)}; return a number of ms, or a negative number to stop retrying`);
  }
  return delay < 0 ? -1 : Math.round(Math.min(delay, MAX_RETRY_DELAY_MS));
}

function describe(value: unknown): string {
  if (typeof value === 'number') return 'NaN';
  if (value === undefined || value === null) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

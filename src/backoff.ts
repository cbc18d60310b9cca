import type { BackoffOptions } from './options.js';

/**
 * A custom strategy registered on a Worker: returns the ms to wait before retry number `retry` (1-based).
 * Return a negative number to stop retrying and fail the job now.
 */
export type BackoffStrategy = (retry: number, error: Error, options: BackoffOptions) => number;

export class UnknownBackoffError extends Error {}

/**
 * Exponential by default, with jitter that only ever shortens the wait ("equal jitter" style): with
 * jitter 0.5 the nth retry waits between 50% and 100% of delay * 2^(n-1). Spreading retries this way
 * keeps a failed downstream from being hit by every job at the same instant when it comes back.
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
    let delay = backoff.type === 'fixed' ? base : base * 2 ** (retry - 1);
    if ('maxDelay' in backoff && typeof backoff.maxDelay === 'number') delay = Math.min(delay, backoff.maxDelay);
    const jitter = 'jitter' in backoff && typeof backoff.jitter === 'number' ? backoff.jitter : 0;
    return Math.round(delay - random() * jitter * delay);
  }
  const strategy = strategies[backoff.type];
  if (strategy === undefined) {
    throw new UnknownBackoffError(
      `backoff strategy '${backoff.type}' is not registered on this worker; pass it in the Worker option backoffStrategies`,
    );
  }
  return strategy(retry, error, backoff);
}

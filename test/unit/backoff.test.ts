import { describe, expect, it } from 'vitest';
import { backoffDelay, UnknownBackoffError } from '../../src/backoff.js';

const error = new Error('downstream said no');

describe('backoff', () => {
  it('doubles the exponential delay per retry, before jitter', () => {
    const noJitter = { type: 'exponential', delay: 1000, jitter: 0 } as const;
    expect([1, 2, 3, 4].map((n) => backoffDelay(noJitter, n, error, {}))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('jitter only shortens the wait, by at most its share', () => {
    const backoff = { type: 'exponential', delay: 1000, jitter: 0.5 } as const;
    expect(backoffDelay(backoff, 3, error, {}, () => 0)).toBe(4000);
    expect(backoffDelay(backoff, 3, error, {}, () => 0.999999)).toBe(2000);
  });

  it('caps exponential growth at maxDelay', () => {
    expect(backoffDelay({ type: 'exponential', delay: 1000, jitter: 0, maxDelay: 5000 }, 10, error, {})).toBe(5000);
  });

  it('waits the same for every fixed retry', () => {
    expect([1, 5].map((n) => backoffDelay({ type: 'fixed', delay: 250 }, n, error, {}))).toEqual([250, 250]);
  });

  it('calls a registered strategy with the retry number and the error', () => {
    const seen: string[] = [];
    const delay = backoffDelay({ type: 'linear', delay: 10 }, 3, error, {
      linear: (retry, err, options) => {
        seen.push(err.message);
        return retry * (options.delay ?? 0);
      },
    });
    expect(delay).toBe(30);
    expect(seen).toEqual(['downstream said no']);
  });

  it('names a strategy that is not registered', () => {
    expect(() => backoffDelay({ type: 'nope' }, 1, error, {})).toThrow(UnknownBackoffError);
    expect(() => backoffDelay({ type: 'nope' }, 1, error, {})).toThrow("backoff strategy 'nope' is not registered");
  });
});

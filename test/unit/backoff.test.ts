import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackoffError, backoffDelay, DEFAULT_MAX_DELAY_MS, MAX_RETRY_DELAY_MS } from '../../src/backoff.js';
import { LUA_DIR } from '../../src/redis/lua.js';

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
    expect(() => backoffDelay({ type: 'nope' }, 1, error, {})).toThrow(BackoffError);
    expect(() => backoffDelay({ type: 'nope' }, 1, error, {})).toThrow("backoff strategy 'nope' is not registered");
  });

  it('caps the exponential backoff at an hour by default: retry 55 would otherwise wait 571 million years', () => {
    expect(DEFAULT_MAX_DELAY_MS).toBe(3_600_000);
    const noJitter = { type: 'exponential', delay: 1000, jitter: 0 } as const;
    expect(backoffDelay(noJitter, 12, error, {})).toBe(2_048_000);
    expect([13, 55, 1_000_000].map((n) => backoffDelay(noJitter, n, error, {}))).toEqual([3_600_000, 3_600_000, 3_600_000]);
  });

  it('keeps a zero base at zero however many retries (0 x 2^1100 is NaN in floating point)', () => {
    expect(backoffDelay({ type: 'exponential', delay: 0, jitter: 0 }, 1100, error, {})).toBe(0);
  });

  it('clamps every delay to MAX_RETRY_DELAY_MS, a stored option or a strategy beyond it included', () => {
    expect(MAX_RETRY_DELAY_MS).toBe(2 ** 31 - 1);
    expect(backoffDelay({ type: 'exponential', delay: 1000, jitter: 0, maxDelay: 1e300 }, 1100, error, {})).toBe(MAX_RETRY_DELAY_MS);
    expect(backoffDelay({ type: 'fixed', delay: 1e300 }, 1, error, {})).toBe(MAX_RETRY_DELAY_MS);
    expect(backoffDelay({ type: 'huge' }, 1, error, { huge: () => 1e300 })).toBe(MAX_RETRY_DELAY_MS);
    expect(backoffDelay({ type: 'forever' }, 1, error, { forever: () => Infinity })).toBe(MAX_RETRY_DELAY_MS);
    expect(backoffDelay({ type: 'stop' }, 1, error, { stop: () => -Infinity })).toBe(-1);
  });

  it.each<[string, unknown, string]>([
    ['NaN', NaN, "backoff strategy 'bad' returned NaN"],
    ['a string', '5000', "backoff strategy 'bad' returned a string"],
    ['undefined', undefined, "backoff strategy 'bad' returned undefined"],
  ])('refuses a strategy that returns %s, saying what to return instead', (_label, value, message) => {
    const call = (): number => backoffDelay({ type: 'bad' }, 1, error, { bad: () => value as number });
    expect(call).toThrow(message);
    expect(call).toThrow('return a number of ms, or a negative number to stop retrying');
  });

  it('clamps in fail.lua at the same MAX_RETRY_DELAY_MS', () => {
    const lua = readFileSync(join(LUA_DIR, 'fail.lua'), 'utf8');
    expect(Number(/^local MAX_RETRY_DELAY_MS = (\d+)$/m.exec(lua)?.[1])).toBe(MAX_RETRY_DELAY_MS);
  });
});

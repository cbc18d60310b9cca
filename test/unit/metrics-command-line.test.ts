import { describe, expect, it } from 'vitest';
import { ValidationError } from 'sluice';
import { parseMetrics, type MetricsCommand } from '../../src/metrics/command-line.js';

/** The command line of `sluice metrics`: what it accepts, and that no refusal repeats a Redis URL. */
const parse = (...args: string[]): MetricsCommand | 'help' => parseMetrics(['--queues', 'emails', ...args], {});

/** The message of the ValidationError `run` throws. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError, got none');
}

describe('sluice metrics --redis', () => {
  it('accepts redis:// and rediss:// in any case', () => {
    for (const url of ['redis://redis:6379', 'REDIS://redis:6379', 'rediss://user:pw@redis:6380/2', 'ReDiSs://redis']) {
      expect(parse('--redis', url)).toMatchObject({ redis: url, queues: ['emails'] });
    }
  });

  it('takes REDIS_URL when --redis is not given', () => {
    expect(parseMetrics(['--queues', 'a'], { REDIS_URL: 'Redis://r:1' })).toMatchObject({ redis: 'Redis://r:1' });
  });

  it('refuses another scheme, naming the scheme and never the rest (it may hold a password)', () => {
    const message = refusal(() => parse('--redis', 'HTTP://alice:s3cr3t@db-internal:6399'));
    expect(message).toContain('redis:// or rediss://');
    expect(message).toContain("scheme 'HTTP'");
    for (const part of ['alice', 's3cr3t', 'db-internal', '6399']) expect(message).not.toContain(part);
  });

  it('refuses a value with no scheme, or one that is not a URL, without repeating it', () => {
    for (const value of ['alice:s3cr3t@db-internal:6399', 'db-internal:6399', 'redis://alice:s3cr3t@[db-internal', 'REDIS://:s3cr3t@db-internal:port']) {
      const message = refusal(() => parse('--redis', value));
      for (const part of ['s3cr3t', 'db-internal']) expect(message, value).not.toContain(part);
    }
  });

  it('refuses a URL given without --redis (a stray value) without repeating it', () => {
    const message = refusal(() => parse('redis://alice:s3cr3t@db-internal:6399'));
    expect(message).toMatch(/only flags/);
    expect(message).not.toContain('s3cr3t');
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError, type JobOptions } from 'sluice';
import { compactOptions, DEFAULT_ATTEMPTS, defaultPriority, expandOptions, normalizeJobOptions, readStoredOptions, validateDefaultJobOptions } from '../../src/options.js';
import { encode } from '../../src/serializer.js';

describe('job options', () => {
  it('fills JobRunr-style defaults: 11 attempts, exponential backoff, failed jobs kept', () => {
    const job = normalizeJobOptions(undefined, {}, 3);
    expect(DEFAULT_ATTEMPTS).toBe(11);
    expect(job.stored).toEqual({
      attempts: 11,
      backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
      keepCompleted: { count: 1000, age: 86_400 },
      keepFailed: { count: -1, age: -1 },
    });
    expect(job.priority).toBe(1);
    expect(job.delay).toBe(-1);
    expect(job.runAt).toBe(-1);
  });

  it('puts jobs without a priority on the middle level', () => {
    expect([1, 2, 3, 4, 10].map(defaultPriority)).toEqual([0, 0, 1, 1, 4]);
  });

  it('lets the job override queue defaults', () => {
    const job = normalizeJobOptions({ attempts: 2, priority: 0 }, { attempts: 5, priority: 2, removeOnComplete: true }, 3);
    expect(job.stored.attempts).toBe(2);
    expect(job.priority).toBe(0);
    expect(job.stored.keepCompleted).toEqual({ count: 0, age: -1 });
  });

  it('normalizes retention forms', () => {
    const keep = (removeOnComplete: JobOptions['removeOnComplete']) => normalizeJobOptions({ removeOnComplete }, {}, 1).stored.keepCompleted;
    expect(keep(true)).toEqual({ count: 0, age: -1 });
    expect(keep(false)).toEqual({ count: -1, age: -1 });
    expect(keep(5)).toEqual({ count: 5, age: -1 });
    expect(keep({ age: 60 })).toEqual({ count: -1, age: 60 });
  });

  it('keeps runAt and delay as given', () => {
    const at = new Date('2030-01-01T00:00:00Z');
    expect(normalizeJobOptions({ runAt: at }, {}, 1).runAt).toBe(at.getTime());
    const delayed = normalizeJobOptions({ delay: 1500 }, {}, 1);
    expect(delayed.delay).toBe(1500);
    expect(delayed.stored.delay).toBe(1500);
  });

  it.each<[string, JobOptions | Record<string, unknown>, string]>([
    ['priority above the levels', { priority: 3 }, 'priority must be an integer from 0 to 2, got 3'],
    ['negative priority', { priority: -1 }, 'priority must be an integer from 0 to 2'],
    ['fractional attempts', { attempts: 1.5 }, 'attempts must be an integer from 1'],
    ['zero attempts', { attempts: 0 }, 'attempts must be an integer from 1'],
    ['negative delay', { delay: -5 }, 'delay must be an integer >= 0, got -5'],
    ['delay and runAt', { delay: 5, runAt: new Date() }, 'give either delay or runAt, not both'],
    ['invalid runAt', { runAt: new Date('nope') }, 'runAt must be a valid Date'],
    ['numeric jobId', { jobId: '123' }, "jobId '123' is all digits"],
    ['empty jobId', { jobId: '' }, 'jobId must be a string of 1 to 256 characters'],
    ['unknown option', { attempt: 3 }, "unknown job option 'attempt'"],
    ['fixed backoff without delay', { backoff: { type: 'fixed' } }, "backoff { type: 'fixed' } needs a delay in ms"],
    ['jitter above 1', { backoff: { type: 'exponential', jitter: 2 } }, 'backoff.jitter must be a finite number from 0 to 1'],
    ['bad retention', { removeOnFail: { keep: 1 } }, "removeOnFail has an unknown field 'keep'"],
    ['zero timeout', { timeout: 0 }, 'timeout must be an integer from 1 to 2147483647, got 0'],
    ['a timeout past Node\'s timers', { timeout: 2 ** 31 }, "timeout must be at most 2147483647 ms (Node's timer limit), got 2147483648"],
    ['an infinite timeout', { timeout: Infinity }, 'timeout must be an integer from 1 to 2147483647, got Infinity'],
    ['a backoff delay past the retry limit', { backoff: { type: 'fixed', delay: 2 ** 31 } }, 'backoff.delay must be a finite number from 0 to 2147483647'],
    ['a maxDelay past the retry limit', { backoff: { type: 'exponential', maxDelay: 1e300 } }, 'backoff.maxDelay must be a finite number from 0 to 2147483647'],
    ['a jobId with a lone surrogate', { jobId: 'order-\uD800' }, 'jobId has a lone surrogate (\\uD800 at index 6)'],
    ['a group with a lone surrogate', { group: 'acme\uDC01' }, 'has a lone surrogate (\\uDC01 at index 4); Redis would store it as U+FFFD, so two groups would be one'],
  ])('refuses %s with a ValidationError that says what to do', (_label, options, message) => {
    expect(() => normalizeJobOptions(options as JobOptions, {}, 3)).toThrow(ValidationError);
    expect(() => normalizeJobOptions(options as JobOptions, {}, 3)).toThrow(message);
  });

  it('stores only what differs from the defaults, and reads back the full options', () => {
    const plain = normalizeJobOptions(undefined, {}, 3).stored;
    expect(compactOptions(plain)).toEqual({});
    // An empty map: 3 bytes as msgpackr writes it, against ~90 with every default spelled out.
    expect(encode(compactOptions(plain), 'job options', 100).length).toBeLessThanOrEqual(3);
    expect(expandOptions(compactOptions(plain))).toEqual(plain);
    const custom = normalizeJobOptions({ attempts: 2, removeOnComplete: true, timeout: 50, group: 'g' }, {}, 3).stored;
    expect(compactOptions(custom)).toEqual({ attempts: 2, keepCompleted: { count: 0, age: -1 }, timeout: 50, group: 'g' });
    expect(expandOptions(compactOptions(custom))).toEqual(custom);
    expect(expandOptions(undefined)).toEqual(plain);
  });

  it('refuses per-job fields in queue defaults', () => {
    expect(() => validateDefaultJobOptions({ jobId: 'x' }, 3)).toThrow("defaultJobOptions may not set 'jobId'");
    expect(() => validateDefaultJobOptions({ attempts: -1 }, 3)).toThrow('attempts must be an integer');
  });

  it('takes the dedupe option, stores it with the job, and refuses what it cannot mean', () => {
    const stored = normalizeJobOptions({ dedupe: { key: 'user-7', ttl: 5000, debounce: true }, delay: 100 }, {}, 3).stored;
    expect(stored.dedupe).toEqual({ key: 'user-7', ttl: 5000, debounce: true });
    expect(readStoredOptions(encode(compactOptions(stored), 'o', 1000), 'o').options.dedupe).toEqual({ key: 'user-7', ttl: 5000, debounce: true });
    expect(normalizeJobOptions({ dedupe: { key: 'k' } }, {}, 3).stored.dedupe).toEqual({ key: 'k' });
    const refused: [unknown, string][] = [
      ['k', 'dedupe must be { key, ttl?, debounce? }'],
      [{ key: '' }, 'dedupe.key must be a string of 1 to 256 characters'],
      [{ key: 'k', window: 5 }, "dedupe has an unknown field 'window'"],
      [{ key: 'k', ttl: 0 }, 'dedupe.ttl must be an integer number of ms >= 1, got 0'],
      [{ key: 'k', ttl: 1.5 }, 'dedupe.ttl must be an integer'],
      [{ key: 'k', debounce: 'yes' }, 'dedupe.debounce must be true or false'],
      [{ key: 'k', debounce: true }, 'dedupe.debounce needs dedupe.ttl'],
      [{ key: 'k', ttl: 100, debounce: true }, 'dedupe.debounce needs the job option delay'],
      [{ key: 'lone\uD800' }, 'dedupe.key has a lone surrogate'],
    ];
    for (const [dedupe, message] of refused) {
      expect(() => normalizeJobOptions({ dedupe } as JobOptions, {}, 3)).toThrow(message);
    }
    expect(() => validateDefaultJobOptions({ dedupe: { key: 'k' } }, 3)).toThrow("defaultJobOptions may not set 'dedupe'");
    expect(() => readStoredOptions(encode({ dedupe: 5 }, 'o', 100), 'o')).toThrow("'dedupe' is 5, not a dedupe option");
  });

  it('accepts durations up to the timer limit and ids in any well-formed Unicode', () => {
    expect(normalizeJobOptions({ timeout: 2 ** 31 - 1 }, {}, 3).stored.timeout).toBe(2 ** 31 - 1);
    expect(normalizeJobOptions({ jobId: 'order-😀' }, {}, 3).jobId).toBe('order-😀');
  });
});

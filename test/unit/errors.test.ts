import { describe, expect, it } from 'vitest';
import * as sluice from 'sluice';
import { QueueNotFoundError } from '../../src/errors.js';

describe('errors', () => {
  it('gives every error class a stable, distinct code and its own name', () => {
    const made: sluice.SluiceError[] = [
      new sluice.ValidationError('v'),
      new sluice.PayloadTooLargeError('job data', 2, 1),
      new sluice.EncodeError('e'),
      new sluice.JobNotFoundError('q', '1'),
      new sluice.JobActiveError('a'),
      new sluice.LeaseLostError('1', 'r'),
      new sluice.ClosedError('Queue q'),
      new sluice.TimeoutError('t'),
      new sluice.JobFailedError('1', 'boom'),
      new sluice.ConfigMismatchError('c'),
      new sluice.ScriptError('s'),
      new sluice.UnrecoverableError('u'),
      new sluice.RateLimitError(10),
      new sluice.RedisConfigError('r'),
      new sluice.RedisUnavailableError('u'),
      new sluice.RedisTimeoutError('t'),
      new sluice.RedisOutOfMemoryError('o'),
      new sluice.ReplicationError(0, 1, 100),
      new sluice.BulkAddError([], [{ index: 0, error: new Error('x') }], 1),
      new sluice.BatchIncompleteError('b', 0, [{ index: 0, error: new Error('x') }], 1),
      new sluice.FlowIncompleteError('f', 'flow'),
      new sluice.DecodeError('d'),
      new sluice.JobStateError('1', 'completed', 's'),
      new sluice.JobCancelledError('1', 'cancelled'),
      // Thrown by the sluice command only; not exported.
      new QueueNotFoundError('q', 'sluice'),
    ];
    expect(new Set(made.map((e) => e.code)).size).toBe(made.length);
    for (const error of made) {
      expect(error).toBeInstanceOf(sluice.SluiceError);
      expect(error).toBeInstanceOf(Error);
      expect(sluice.isSluiceError(error)).toBe(true);
      expect(error.name).toBe(error.constructor.name);
      expect(error.code).toMatch(/^ERR_SLUICE_[A-Z_]+$/);
    }
    expect(sluice.isSluiceError(new Error('plain'))).toBe(false);
  });
});

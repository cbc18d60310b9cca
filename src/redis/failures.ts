import { RedisOutOfMemoryError, RedisTimeoutError, RedisUnavailableError } from '../errors.js';

/**
 * Turns what ioredis rejects with into the sluice error a caller handles: Redis out of memory, no answer
 * in time (outcome unknown), or no connection (nothing sent). Anything else passes through unchanged.
 */
export function redisFailure(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const message = error.message;
  if (message.startsWith('OOM ')) {
    return new RedisOutOfMemoryError(
      `Redis refused the write: its memory is at maxmemory and the policy is noeviction. Nothing was written. ` +
        `Free memory (remove finished jobs, lower removeOnComplete/removeOnFail, raise maxmemory), then retry`,
      { cause: error },
    );
  }
  if (message === 'Command timed out') {
    return new RedisTimeoutError(
      `Redis did not answer within the connection's commandTimeout; the command may or may not have run. ` +
        `Retry an add with the same jobId (it is deduplicated), or look the job up with getJob()`,
      { cause: error },
    );
  }
  if (
    error.name === 'MaxRetriesPerRequestError' ||
    message === 'Connection is closed.' ||
    message.startsWith("Stream isn't writeable") ||
    (error as NodeJS.ErrnoException).code === 'ECONNREFUSED'
  ) {
    return new RedisUnavailableError(`Redis is unreachable (${message}); nothing was sent. Check that Redis is up, then retry`, { cause: error });
  }
  return error;
}

/** For promise chains: `.catch(throwRedisFailure)`. */
export function throwRedisFailure(error: unknown): never {
  throw redisFailure(error);
}

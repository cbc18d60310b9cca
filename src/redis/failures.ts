import { RedisOutOfMemoryError, RedisTimeoutError, RedisUnavailableError } from '../errors.js';

export const GAVE_UP = /^Too many Cluster redirections\. Last error: (?:ReplyError: )?([\s\S]*)$/;

/**
 * The message of Redis' reply inside ioredis' "Too many Cluster redirections. Last error: ...", or the
 * error's own. ioredis counts every error of a call against maxRedirections, not only redirections: a
 * script call that met TRYAGAIN while its slot was being migrated, then "Function not found" on the master
 * the slot landed on, came back wrapped so and was not loaded and called again
 * (test/fault/partitions-reshard.test.ts, once in about a dozen runs).
 */
export function replyMessage(error: unknown): string {
  if (!(error instanceof Error)) return '';
  return GAVE_UP.exec(error.message)?.[1] ?? error.message;
}

/**
 * Turns what ioredis rejects with into the sluice error a caller handles: Redis out of memory, no answer
 * in time (outcome unknown), or no connection (nothing sent). Anything else passes through unchanged.
 */
export function redisFailure(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const message = error.message;
  if (replyMessage(error).startsWith('OOM ')) {
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
  // Every try was redirected (TRYAGAIN and ASK while the key's slot is being migrated to another master; MOVED from
  // the masters ioredis tries a TRYAGAIN on, which do not serve the slot): refused before it ran, every time.
  // src/redis/scripts.ts sends a script again for a while before this.
  if (GAVE_UP.test(message) && /^(TRYAGAIN|ASK|MOVED) /.test(replyMessage(error))) {
    return new RedisUnavailableError(
      `the key's slot is being migrated to another master of the Redis Cluster (resharding), or the cluster's slot map is ` +
        `changing, and Redis refused the command before running it each time (${message}); nothing was written. Retry once ` +
        `the migration has ended`,
      { cause: error },
    );
  }
  // A cluster whose master for the slot is gone: ioredis retries through the slot map 16 times, then gives
  // up with this, its last error inside (a closed connection, or CLUSTERDOWN while no master serves the
  // slot); or, reconnecting, it reached none of its nodes (ClusterAllFailedError) and sent nothing.
  if (message.startsWith('Too many Cluster redirections') || message.startsWith('CLUSTERDOWN') || error.name === 'ClusterAllFailedError' || message === 'None of startup nodes is available') {
    return new RedisUnavailableError(
      `no master of the Redis Cluster serves the key's slot right now (${message}); nothing was sent. A failover ` +
        `usually ends within the cluster's node timeout: retry then`,
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

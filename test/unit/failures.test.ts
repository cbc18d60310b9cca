import { describe, expect, it } from 'vitest';
import { RedisOutOfMemoryError, RedisUnavailableError } from 'sluice';
import { redisFailure, replyMessage } from '../../src/redis/failures.js';

/** What ioredis' Cluster rejects with once a call has used up its 16 redirections: the last reply inside. */
const gaveUp = (reply: string): Error => new Error(`Too many Cluster redirections. Last error: ReplyError: ${reply}`);

describe('Redis failures as sluice errors', () => {
  it("reads the reply inside ioredis' redirections wrapper, which counts every error, not only redirections", () => {
    expect(replyMessage(gaveUp('ERR Function not found'))).toBe('ERR Function not found');
    expect(replyMessage(new Error('ERR Function not found'))).toBe('ERR Function not found');
    expect(replyMessage('not an error')).toBe('');
  });

  it('says a slot in migration refused the command, nothing written', () => {
    for (const reply of ['TRYAGAIN Multiple keys request during rehashing of slot', 'ASK 866 127.0.0.1:7001', 'MOVED 866 127.0.0.1:7001']) {
      const failure = redisFailure(gaveUp(reply));
      expect(failure).toBeInstanceOf(RedisUnavailableError);
      expect((failure as Error).message).toMatch(/being migrated to another master.*nothing was written/);
    }
  });

  it('keeps the failover message for a closed connection or CLUSTERDOWN, and finds an OOM inside the wrapper', () => {
    const closed = redisFailure(new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'));
    expect(closed).toBeInstanceOf(RedisUnavailableError);
    expect((closed as Error).message).toMatch(/^no master of the Redis Cluster serves/);
    expect(redisFailure(gaveUp('OOM command not allowed when used memory > maxmemory.'))).toBeInstanceOf(RedisOutOfMemoryError);
  });
});

import { describe, expect, it } from 'vitest';
import { Queue, ValidationError } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';

const redis = useRedis();

describe('names', () => {
  it('refuses job ids with a lone surrogate: Redis would store two of them as the same U+FFFD', async () => {
    const name = uniqueQueue('ids');
    const queue = new Queue(name, { connection: redis.connection });
    await expect(queue.add('a', {}, { jobId: 'order-\uD800' })).rejects.toThrow('jobId has a lone surrogate (\\uD800 at index 6)');
    await expect(queue.add('b', {}, { jobId: 'order-\uDC00' })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.getJob('order-\uD800')).rejects.toBeInstanceOf(ValidationError);
    expect((await queue.getCounts()).waiting).toBe(0);
    const astral = await queue.add('c', {}, { jobId: 'order-😀' });
    expect((await queue.getJob('order-😀'))?.id).toBe(astral.id);
    await queue.close();
  });

  it('refuses queue names with DEL, a C1 control character or a lone surrogate', () => {
    for (const name of ['del\x7f', 'next-line\u0085', 'csi\u009b', 'half\uD83D']) {
      expect(() => new Queue(name, { connection: redis.connection })).toThrow(ValidationError);
    }
  });
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, ValidationError, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';
import { worstWindow } from '../harness/windows.js';

const redis = useRedis();
let client: Redis;
beforeAll(() => {
  client = new Redis(redis.url);
});
afterAll(async () => {
  await client.quit();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('queue-wide concurrency across workers', () => {
  it('never runs more than n handlers at once over three workers, and reaches n', async () => {
    const name = uniqueQueue('conc');
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection });
    await queue.setConcurrency(3);
    expect(await queue.getConcurrency()).toBe(3);
    const total = 60;
    await queue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'call', data: { ms: 5 + ((i * 7) % 20) } })));
    let running = 0;
    let most = 0;
    const perWorker = [0, 0, 0];
    const workers = perWorker.map(
      (_, w) =>
        new Worker<{ ms: number }>(
          name,
          async (job) => {
            running++;
            most = Math.max(most, running);
            perWorker[w]!++;
            await sleep(job.data.ms);
            running--;
          },
          { connection: redis.connection, concurrency: 4 },
        ),
    );
    await waitFor('every job', async () => (await queue.getCounts()).completed === total, 60_000);
    await Promise.all(workers.map((worker) => worker.close()));
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBe(3);
    expect(perWorker.reduce((a, b) => a + b)).toBe(total);
    await queue.obliterate();
    await queue.close();
  }, 90_000);

  it('wakes a worker waiting for a slot when the worker holding them closes, long before its blockTimeout', async () => {
    const name = uniqueQueue('conc-wake');
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection });
    await queue.setConcurrency(2);
    await queue.addBulk(Array.from({ length: 4 }, () => ({ name: 'call', data: { ms: 300 } })));
    const started: { worker: string; at: number }[] = [];
    const handler = (worker: string) => async (job: { data: { ms: number } }) => {
      started.push({ worker, at: Date.now() });
      await sleep(job.data.ms);
    };
    const holder = new Worker(name, handler('holder'), { connection: redis.connection, concurrency: 2 });
    await waitFor('the holder to take both slots', () => started.length === 2);
    const waiting = new Worker(name, handler('waiting'), { connection: redis.connection, concurrency: 2, blockTimeout: 20_000 });
    // A refused claim marks meta `active` with 2^40 (lua/includes/active.lua).
    await waitFor('the waiting worker to be refused', async () => Number(await client.hget(`sluice:{${name}}:meta`, 'active')) >= 2 ** 40);
    const closed = holder.close().then(() => Date.now());
    await waitFor('the waiting worker to start the rest', () => started.filter((s) => s.worker === 'waiting').length === 2, 10_000);
    const closedAt = await closed;
    const firstOfWaiting = Math.min(...started.filter((s) => s.worker === 'waiting').map((s) => s.at));
    // Its blockTimeout is 20 s: it started because a settle woke it, not because its wait ran out.
    expect(firstOfWaiting - closedAt).toBeLessThan(2000);
    expect(started.filter((s) => s.worker === 'holder')).toHaveLength(2);
    await waitFor('every job', async () => (await queue.getCounts()).completed === 4);
    await waiting.close();
    await queue.close();
  }, 60_000);
});

describe('a smooth rate limit', () => {
  it('keeps every 1 s window of a downstream with a few ms of jitter at max + burst, over about 2 s', async () => {
    const name = uniqueQueue('smooth');
    const queue = new Queue(name, { connection: redis.connection });
    const limit = { max: 20, duration: 1000, smooth: true, burst: 1 };
    await queue.setRateLimit(limit);
    expect(await queue.getRateLimit()).toEqual(limit);
    const total = 45;
    await queue.addBulk(Array.from({ length: total }, () => ({ name: 'call', data: {}, opts: { removeOnComplete: false } })));
    const workers = [0, 1].map(() => new Worker(name, async () => undefined, { connection: redis.connection, concurrency: 8 }));
    await waitFor('every job', async () => (await queue.getCounts()).completed === total, 30_000);
    await Promise.all(workers.map((worker) => worker.close()));
    const starts = (await queue.getJobs('completed', 0, total - 1)).map((job) => job.processedOn ?? 0);
    expect(starts).toHaveLength(total);
    // On Redis' clock the spacing holds exactly: 50 ms apart, so no window of 1 s holds more than 20.
    expect(worstWindow(starts, 1000)).toBeLessThanOrEqual(20);
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual((total - 1) * 50 - total);
    // The downstream's clock: each call arrives 0 to 5 ms late, at random (below the 50 ms spacing).
    for (let run = 0; run < 20; run++) {
      const seen = starts.map((at) => at + Math.random() * 5);
      expect(worstWindow(seen, 1000)).toBeLessThanOrEqual(limit.max + limit.burst);
    }
    await queue.obliterate();
    await queue.close();
  }, 60_000);
});

describe('bad limits: a ValidationError that says what to give, and nothing written', () => {
  it.each<[string, (queue: Queue) => Promise<unknown>, string]>([
    ['a burst without smooth', (q) => q.setRateLimit({ max: 10, duration: 1000, burst: 2 }), 'burst applies to a smooth limit; add smooth: true'],
    ['a burst above max', (q) => q.setRateLimit({ max: 10, duration: 1000, smooth: true, burst: 11 }), 'setRateLimit: burst must be an integer from 1 to 10, got 11'],
    ['a burst of 0', (q) => q.setRateLimit({ max: 10, duration: 1000, smooth: true, burst: 0 }), 'burst must be an integer from 1 to 10'],
    ['a fractional burst', (q) => q.setRateLimit({ max: 10, duration: 1000, smooth: true, burst: 1.5 }), 'burst must be an integer'],
    ['smooth that is not a boolean', (q) => q.setRateLimit({ max: 10, duration: 1000, smooth: 'yes' as never }), 'smooth must be true or false, got "yes"'],
    ['a group burst above max', (q) => q.setGroupLimit({ max: 3, duration: 1000, smooth: true, burst: 4 }), 'setGroupLimit: burst must be an integer from 1 to 3'],
    ['a smooth group rule without a rate', (q) => q.setGroupLimit({ concurrency: 2, smooth: true }), 'smooth and burst shape a rate; give max and duration'],
    ['a concurrency of 0', (q) => q.setConcurrency(0), 'setConcurrency: concurrency must be an integer >= 1, got 0'],
    ['a fractional concurrency', (q) => q.setConcurrency(2.5), 'setConcurrency: concurrency must be an integer >= 1, got 2.5'],
  ])('refuses %s', async (_label, call, message) => {
    const name = uniqueQueue('bad-limit');
    const queue = new Queue(name, { connection: redis.connection });
    await expect(call(queue)).rejects.toBeInstanceOf(ValidationError);
    await expect(call(queue)).rejects.toThrow(message);
    expect(await client.keys(`sluice:\\{${name}\\}:*`)).toEqual([]);
    expect(await queue.getRateLimit()).toBeNull();
    expect(await queue.getConcurrency()).toBeNull();
    await queue.close();
  });

  it('refuses a smooth rateLimit option in the constructor, before anything connects', () => {
    expect(() => new Queue(uniqueQueue('bad-option'), { connection: redis.connection, rateLimit: { max: 5, duration: 1000, smooth: true, burst: 6 } })).toThrow(
      'rateLimit: burst must be an integer from 1 to 5, got 6',
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, RedisTimeoutError, RedisUnavailableError } from 'sluice';
import { runFixture } from '../harness/child.js';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

let redis: SpawnedRedis;
beforeAll(async () => {
  redis = await spawnRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
});
afterAll(async () => {
  redis.signal('SIGCONT');
  await redis.stop();
});

const COMMAND_TIMEOUT = 2000;
/** What a settled add may take past its timeout: timers and the event loop of a busy 2-core machine. */
const SLACK = 1500;

interface Outcome {
  id: string;
  ms: number;
  result: 'ok' | 'timeout' | 'unavailable' | 'other';
  error?: string;
}

describe('redis-server frozen with SIGSTOP for 10 s, then resumed', () => {
  it('gives producers a typed error or success within their timeout, and the worker resumes without a restart', async () => {
    const name = uniqueQueue('redis-freeze');
    const queue = new Queue<{ ms: number }>(name, {
      connection: { url: redis.url },
      commandTimeout: COMMAND_TIMEOUT,
      defaultJobOptions: { removeOnComplete: false },
    });
    const worker = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '8', JOB_MS: '5' });
    await waitFor('the worker', () => worker.lines.includes('ready'), 30_000);

    const outcomes: Outcome[] = [];
    const pending = new Set<Promise<void>>();
    const addOne = (id: string): void => {
      const started = performance.now();
      const call = queue.add('w', { ms: 5 }, { jobId: id }).then(
        () => void outcomes.push({ id, ms: performance.now() - started, result: 'ok' }),
        (error: Error) => {
          const result = error instanceof RedisTimeoutError ? 'timeout' : error instanceof RedisUnavailableError ? 'unavailable' : 'other';
          outcomes.push({ id, ms: performance.now() - started, result, error: `${error.name}: ${error.message}` });
        },
      );
      const tracked = call.finally(() => pending.delete(tracked));
      pending.add(tracked);
    };

    // One add every 50 ms: 1 s before the freeze, 10 s frozen, 2 s after.
    let n = 0;
    const producing = (async () => {
      const end = Date.now() + 13_000;
      while (Date.now() < end) {
        addOne(`f-${n++}`);
        await sleep(50);
      }
    })();
    await sleep(1000);
    redis.signal('SIGSTOP');
    await sleep(10_000);
    redis.signal('SIGCONT');
    await producing;
    await waitFor('every add to settle', () => pending.size === 0, COMMAND_TIMEOUT + SLACK + 1000);

    expect(outcomes).toHaveLength(n);
    // Nothing hung past its timeout, and every failure is one a caller can act on.
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    expect(slowest).toBeLessThan(COMMAND_TIMEOUT + SLACK);
    expect(outcomes.filter((o) => o.result === 'other').map((o) => o.error)).toEqual([]);
    const failed = outcomes.filter((o) => o.result !== 'ok');
    // About 10 s of adds at 20/s met the frozen server.
    expect(failed.length).toBeGreaterThan(100);
    expect(outcomes.filter((o) => o.result === 'ok').length).toBeGreaterThan(20);

    // A timed-out add may or may not have run: retried with its jobId it is deduplicated, so every id
    // ends up as exactly one job, completed once by the same worker process, which never restarted.
    for (const outcome of failed) await queue.add('w', { ms: 5 }, { jobId: outcome.id });
    await waitFor('every job to complete', async () => (await queue.getCounts()).completed === n, 60_000);
    // Redis' count comes first; the worker's line about its last jobs may come a moment later.
    await waitFor('the worker to report every job', () => worker.lines.filter((line) => line.startsWith('done ')).length >= n);
    const done = worker.lines.filter((line) => line.startsWith('done '));
    expect(new Set(done).size).toBe(n);
    expect(done).toHaveLength(n);
    expect(worker.process.exitCode).toBeNull();

    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await queue.close();
  }, 120_000);
});

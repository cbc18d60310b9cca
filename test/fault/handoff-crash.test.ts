import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

// An idle worker registered for a handoff (lua/includes/handoff.lua) and then killed: its registration
// stays until it runs out (its block timeout and a second), so adds in that time are handed to a process
// that is gone. They are claimed for it as any job it would have run, so the stalled sweep gives them back;
// none is lost, none runs twice, and the counts end exact.
describe('a worker process killed with SIGKILL while it waits for a handoff', () => {
  it('loses none of the jobs handed to it after its death: the stalled sweep gives them back', async () => {
    const name = uniqueQueue('handoff-crash');
    const client = new Redis(redis.url);
    const queue = new Queue<{ ms: number }, number | string>(name, { connection: redis.connection });
    const waiters = (): Promise<string[]> => client.zrange(queueKeys(name, 'sluice', 3).waiters, '0', '-1');
    try {
      const child = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '2', STALLED_TIMEOUT: '1000' });
      await waitFor('the child to register both slots', async () => (await waiters()).length === 2, 30_000);
      child.process.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');

      // Two adds go to the dead child's two slots; the third finds no waiter and waits.
      const jobs = [];
      for (let i = 0; i < 3; i++) jobs.push(await queue.add('after death', { ms: 1 }));
      expect(await waiters()).toEqual([]);
      expect(await queue.getCounts()).toMatchObject({ active: 2, waiting: 1 });

      const ran = new Map<string, number>();
      const stalled = new Map<string, number>();
      const survivor = new Worker<{ ms: number }, string>(
        name,
        async (job) => {
          ran.set(job.id, (ran.get(job.id) ?? 0) + 1);
          stalled.set(job.id, job.stalledCounter);
          return 'survivor';
        },
        { connection: redis.connection, concurrency: 2, stalledTimeout: 1000, stalledInterval: 200 },
      );
      try {
        await waitFor('every job to complete', async () => (await queue.getCounts()).completed === 3, 30_000);
        expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 3, failed: 0, paused: 0, limited: 0, blocked: 0 });
        expect(jobs.map((job) => ran.get(job.id))).toEqual([1, 1, 1]);
        // The two handed to the dead child were given back by the sweep (their stall counted); the third was not.
        expect(jobs.map((job) => stalled.get(job.id))).toEqual([1, 1, 0]);
      } finally {
        await survivor.close();
      }
    } finally {
      await queue.close();
      await client.quit();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('a poison job that kills its worker process every time', () => {
  it('is failed as stalled after maxStalled deliveries, while the other jobs keep flowing', async () => {
    const name = uniqueQueue('poison');
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection });
    const poison = await queue.add('poison', { ms: 0 });
    await queue.addBulk(Array.from({ length: 40 }, () => ({ name: 'fine', data: { ms: 20 } })));
    // Concurrency 1: the poison job is alone in the process when it kills it. (At higher concurrency the
    // jobs running beside it stall too, and fail as well once they stall more than maxStalled times.)
    const env = { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '1', STALLED_TIMEOUT: '600' };
    // As a Kubernetes Deployment would: a dead worker process is replaced, again and again.
    let restarts = 0;
    while ((await queue.getJob(poison.id))?.state !== 'failed') {
      expect(restarts).toBeLessThan(10);
      const child = runFixture('worker-process', env);
      const ended = await Promise.race([child.exited, sleep(3000).then(() => 'alive')]);
      if (ended === 'alive') {
        child.process.kill('SIGTERM');
        await child.exited;
      }
      restarts++;
    }
    const failed = await queue.getJob(poison.id);
    expect(failed?.failedReason).toMatch(/^stalled: /);
    // maxStalled 1: the first stall requeues it, the second fails it.
    expect(failed?.attemptsStarted).toBe(2);
    const survivor = runFixture('worker-process', env);
    await waitFor('the survivor to be up', () => survivor.lines.includes('ready'), 30_000);
    await waitFor('the other jobs', async () => (await queue.getCounts()).completed === 40, 30_000);
    survivor.process.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
    expect(await queue.getCounts()).toMatchObject({ completed: 40, failed: 1, active: 0, waiting: 0 });
    await queue.close();
  }, 90_000);
});

describe('a worker frozen (SIGSTOP) past its lease', () => {
  it('loses the job to another worker; its late completion is refused; the job completes once', async () => {
    const name = uniqueQueue('frozen');
    const queue = new Queue<{ ms: number }, number | string>(name, { connection: redis.connection });
    const job = await queue.add('slow', { ms: 1500 });
    const frozen = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '1', STALLED_TIMEOUT: '500' });
    await waitFor('the frozen worker to start the job', () => frozen.lines.includes(`start ${job.id}`), 30_000);
    frozen.process.kill('SIGSTOP');

    const ranHere: string[] = [];
    const healthy = new Worker<{ ms: number }, number | string>(name, async (j) => {
      ranHere.push(j.id);
      return 'healthy';
    }, {
      connection: redis.connection,
      stalledTimeout: 500,
      stalledInterval: 100,
    });
    await waitFor('the healthy worker to complete it', async () => (await queue.getJob(job.id))?.state === 'completed', 20_000);
    expect(ranHere).toEqual([job.id]);

    frozen.process.kill('SIGCONT');
    // Its handler finishes (1.5 s) and its settle is refused, reported as a lost lease.
    await waitFor('the refused settle', () => frozen.lines.includes('error LeaseLostError'), 20_000);
    expect(frozen.lines).not.toContain(`done ${job.id}`);
    const settled = await queue.getJob(job.id);
    expect(settled?.state).toBe('completed');
    expect(settled?.attemptsMade).toBe(1);
    expect(await queue.getCounts()).toMatchObject({ completed: 1, active: 0, waiting: 0 });
    frozen.process.kill('SIGTERM');
    expect(await frozen.exited).toBe(0);
    await healthy.close();
    await queue.close();
  }, 60_000);
});

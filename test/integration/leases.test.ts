import { describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('the heartbeat of a live worker', () => {
  // The test that would have caught issue 12's first bug: extend-leases passed only the first entry id of a
  // stream to XCLAIM, so a healthy worker at concurrency > 1 kept one job and lost the others to the
  // stalled sweep. Earlier tests held one job per stream, or ran jobs shorter than stalledTimeout.
  it('keeps every job it runs: long jobs at concurrency 8 on two workers, stalledTimeout 1 s, no job taken back', async () => {
    const name = uniqueQueue('leases');
    const queue = new Queue<{ i: number }>(name, { connection: redis.connection });
    // Every kind of entry: all three levels, fresh entries and full ones (a jobId), and a grouped job.
    await queue.addBulk(
      Array.from({ length: 16 }, (_, i) => ({
        name: 'long',
        data: { i },
        opts: { priority: i % 3, ...(i % 4 === 0 ? { jobId: `long-${i}` } : {}), ...(i === 5 ? { group: 'tenant' } : {}) },
      })),
    );
    const starts = new Map<number, number>();
    const errors: Error[] = [];
    const handler = async (job: Job<{ i: number }>): Promise<number> => {
      starts.set(job.data.i, (starts.get(job.data.i) ?? 0) + 1);
      // Three heartbeats of 333 ms and five sweeps of 500 ms pass while each job runs.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return job.data.i;
    };
    const options = { connection: redis.connection, concurrency: 8, stalledTimeout: 1000 };
    const workers = [new Worker(name, handler, options), new Worker(name, handler, options)];
    let completed = 0;
    for (const worker of workers) {
      worker.on('error', (error) => errors.push(error));
      worker.on('completed', () => completed++);
    }
    await waitFor('16 completions', () => completed === 16, 20_000);
    await Promise.all(workers.map((worker) => worker.close()));

    expect(errors.map((error) => error.message)).toEqual([]);
    expect([...starts.values()]).toEqual(Array.from({ length: 16 }, () => 1));
    expect(await queue.getCounts()).toMatchObject({ completed: 16, failed: 0, active: 0, waiting: 0 });
    const jobs = await queue.getJobs('completed', 0, 99);
    expect(jobs.map((job) => job.attemptsStarted)).toEqual(Array.from({ length: 16 }, () => 1));
    await queue.close();
  }, 30_000);
});

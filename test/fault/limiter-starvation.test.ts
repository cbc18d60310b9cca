import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { runFixture, type Child } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';
import { worstWindow } from '../harness/windows.js';

const redis = useRedis();

/** A process that does nothing but burn a core, so the workers and Redis fight for CPU time. */
function burner(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

describe('the queue-wide rate limit under CPU starvation', () => {
  // Seen once, not reproduced: under heavy machine load a 25-per-500 ms limit let 50 jobs start within one
  // 500 ms window by processedOn. processedOn is Redis' time of the claim that started the job, and claim
  // enforces the limit on that same clock in one script, so no load on the workers may let more through.
  it('lets at most max jobs start in any window by Redis clock, with busy-loop processes on every core and workers frozen and thawed', async () => {
    const name = uniqueQueue('starved');
    const total = 250;
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection, rateLimit: { max: 25, duration: 500 } });
    await queue.addBulk(Array.from({ length: total }, () => ({ name: 'call', data: { ms: 5 }, opts: { removeOnComplete: false } })));

    const burners = Array.from({ length: availableParallelism() + 1 }, burner);
    const workers: Child[] = Array.from({ length: 3 }, () => runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '16' }));
    // Each worker is frozen and thawed at random, from 20 to 200 ms each way, so claims go out late, replies
    // sit unread and workers burst when they wake: what a starved scheduler does to them, only harder.
    let cycles = 0;
    let stopping = false;
    const cycling = workers.map(async (worker) => {
      while (!stopping) {
        await sleep(20 + Math.random() * 180);
        worker.process.kill('SIGSTOP');
        await sleep(20 + Math.random() * 180);
        worker.process.kill('SIGCONT');
        cycles++;
      }
    });
    try {
      await waitFor('all jobs', async () => (await queue.getCounts()).completed === total, 60_000);
    } finally {
      stopping = true;
      await Promise.all(cycling);
      for (const b of burners) b.kill('SIGKILL');
      for (const worker of workers) worker.process.kill('SIGTERM');
    }
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    expect(cycles).toBeGreaterThan(10);

    const starts = (await queue.getJobs('completed', 0, total - 1)).map((job) => job.processedOn ?? 0);
    expect(starts).toHaveLength(total);
    expect(starts.every((at) => at > 0)).toBe(true);
    expect(worstWindow(starts, 500)).toBeLessThanOrEqual(25);
    await queue.obliterate();
    await queue.close();
  }, 90_000);
});

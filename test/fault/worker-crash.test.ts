import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('a worker process killed with SIGKILL mid-job', () => {
  it('loses no job: its in-flight jobs run again on another worker, and nothing else runs twice', async () => {
    const name = uniqueQueue('crash');
    const total = 40;
    const queue = new Queue<{ ms: number }, number | string>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: total }, () => ({ name: 'work', data: { ms: 200 } })));

    const child = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '5', STALLED_TIMEOUT: '1000' });
    await waitFor('the child to start jobs', () => child.lines.filter((l) => l.startsWith('start ')).length >= 8, 30_000);
    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    const childPid = child.process.pid;
    // The ledger, kept outside Redis: what the child started before it died.
    const startedInChild = new Set(child.lines.filter((l) => l.startsWith('start ')).map((l) => l.slice(6)));

    const ranHere = new Map<string, number>();
    // What each run here was told of earlier runs that never settled: the hint of a repeat delivery.
    const stalledCounter = new Map<string, number>();
    const worker = new Worker<{ ms: number }, string>(
      name,
      async (job) => {
        ranHere.set(job.id, (ranHere.get(job.id) ?? 0) + 1);
        stalledCounter.set(job.id, job.stalledCounter);
        return 'survivor';
      },
      { connection: redis.connection, concurrency: 10, stalledTimeout: 1000, stalledInterval: 200 },
    );
    await waitFor('every job to complete', async () => (await queue.getCounts()).completed === total, 30_000);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: total, failed: 0, paused: 0, limited: 0, blocked: 0 });

    const jobs = await queue.getJobs('completed', 0, total - 1);
    expect(jobs).toHaveLength(total);
    const inFlightAtKill = jobs.filter((job) => startedInChild.has(job.id) && job.returnvalue !== childPid);
    expect(inFlightAtKill.length).toBeGreaterThan(0);
    for (const job of jobs) {
      if (job.returnvalue === childPid) {
        // Completed by the child before it died: never run again.
        expect(ranHere.has(job.id)).toBe(false);
        expect(job.attemptsStarted).toBe(1);
      } else {
        expect(job.returnvalue).toBe('survivor');
        expect(ranHere.get(job.id)).toBe(1);
        // A job the child had started ran twice. One the child had claimed but not yet announced (killed
        // between its claim and its 'start' line) ran twice too; one it never claimed ran once.
        if (startedInChild.has(job.id)) expect(job.attemptsStarted).toBe(2);
        else expect(job.attemptsStarted).toBeLessThanOrEqual(2);
        expect(stalledCounter.get(job.id)).toBe(job.attemptsStarted - 1);
      }
    }
    // Only jobs in the child's hands at the kill can have started twice: at most its concurrency (5).
    expect(jobs.filter((job) => job.attemptsStarted === 2).length).toBeLessThanOrEqual(5);
    await worker.close();
    await queue.close();
  }, 60_000);
});

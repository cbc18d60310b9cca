import { describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { runFixture, type Child } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

/** "fired <id>" lines of every process, as [process index, tick ms]. */
function fired(children: readonly Child[], scheduleId: string): [number, number][] {
  return children.flatMap((child, index) =>
    child.lines.filter((l) => l.startsWith(`fired ${scheduleId}:`)).map((l): [number, number] => [index, Number(l.slice(`fired ${scheduleId}:`.length))]),
  );
}

/**
 * How late a tick may fire after the runner that would have fired it was SIGKILLed: one period (1 s).
 * Every surviving runner sleeps until the tick on a local timer, so it fires within milliseconds; a tick
 * that only fired at a runner's 5 s poll, or as a catch-up, would be later than that.
 */
const ON_TIME_MS = 1000;

describe('a schedule fired by 5 worker processes', () => {
  it('every second for 10 s: exactly 10 jobs, none twice; after SIGKILL of the last firer the next tick is on time', async () => {
    const name = uniqueQueue('sched-fault');
    const queue = new Queue(name, { connection: redis.connection });
    // Whole seconds, 3 s ahead: the processes start meanwhile (a late start would be caught up, not lost).
    const start = Math.ceil(Date.now() / 1000) * 1000 + 3000;
    await queue.upsertSchedule('sec', { every: 1000, startAt: new Date(start) }, { name: 'tick', data: {}, opts: { removeOnComplete: false } });
    const children = Array.from({ length: 5 }, () => runFixture('schedule-worker', { REDIS_URL: redis.url, QUEUE: name }));
    try {
      const firstTen = Array.from({ length: 10 }, (_, k) => start + k * 1000);
      const last = firstTen[9]!;
      await waitFor('ten ticks fired', () => fired(children, 'sec').some(([, tick]) => tick === last), 30_000);
      // Kill the process that fired the tenth tick, at once: the eleventh is due within a second.
      const killer = fired(children, 'sec').find(([, tick]) => tick === last)![0];
      children[killer]!.process.kill('SIGKILL');
      expect(await children[killer]!.exited).toBe('SIGKILL');

      const inWindow = fired(children, 'sec').filter(([, tick]) => tick <= last).map(([, tick]) => tick);
      expect(inWindow.sort((a, b) => a - b)).toEqual(firstTen);
      // More than one process fired: the ticks went to whoever won each compare-and-set.
      expect(new Set(fired(children, 'sec').map(([index]) => index)).size).toBeGreaterThan(1);

      const after = [last + 1000, last + 2000];
      await waitFor('two more ticks fired by the survivors', () => after.every((t) => fired(children, 'sec').some(([, tick]) => tick === t)), 15_000);
      for (const tick of after) {
        const job = await queue.getJob(`sec:${tick}`);
        expect(job, `job for tick ${tick}`).toBeDefined();
        // job.timestamp is when fire-schedule created it, on Redis' clock: the tick was on time.
        expect(job!.timestamp - tick).toBeLessThanOrEqual(ON_TIME_MS);
        expect(job!.timestamp).toBeGreaterThanOrEqual(tick);
      }
      await queue.removeSchedule('sec');
      // No tick fired twice, by any process, dead or alive; and Redis holds one job per fired tick.
      const inRedis = async (): Promise<number[]> => {
        const jobs = [...(await queue.getJobs('completed', 0, 999)), ...(await queue.getJobs('waiting', 0, 999)), ...(await queue.getJobs('active', 0, 999))];
        return jobs.map((j) => Number(j.id.slice('sec:'.length))).sort((a, b) => a - b);
      };
      // A tick fired just before removeSchedule may print its line a moment after the job exists.
      await waitFor('a fired line for every tick job', async () => (await inRedis()).length === fired(children, 'sec').length, 5000).catch(() => undefined);
      const all = fired(children, 'sec').map(([, tick]) => tick);
      expect(new Set(all).size).toBe(all.length);
      expect(await inRedis()).toEqual([...all].sort((a, b) => a - b));
    } finally {
      for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
      await Promise.all(children.map((c) => c.exited));
      await queue.close();
    }
  }, 60_000);
});

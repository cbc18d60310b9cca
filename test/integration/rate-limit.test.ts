import { describe, expect, it } from 'vitest';
import { Queue, RateLimitError, UnrecoverableError, Worker, type Job } from 'sluice';
import { runFixture, type Child } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';
import { worstOverlap, worstWindow } from '../harness/windows.js';

const redis = useRedis();

function workers(count: number, env: Record<string, string>): Child[] {
  return Array.from({ length: count }, () => runFixture('worker-process', { REDIS_URL: redis.url, ...env }));
}

async function stop(children: Child[]): Promise<void> {
  // A worker process that has not started yet has no SIGTERM handler: it would die of the signal (seen on
  // a loaded machine, where the work was done before the second process was up).
  await waitFor('every worker process to start', () => children.every((child) => child.lines.includes('ready')), 30_000);
  for (const child of children) child.process.kill('SIGTERM');
  expect(await Promise.all(children.map((c) => c.exited))).toEqual(children.map(() => 0));
}

describe('a queue-wide rate limit across worker processes', () => {
  it('never lets more than max start in any window, and reaches at least 95% of the limit', async () => {
    const name = uniqueQueue('limit');
    const total = 2000;
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection, rateLimit: { max: 100, duration: 1000 } });
    await queue.addBulk(Array.from({ length: total }, () => ({ name: 'call', data: { ms: 0 }, opts: { removeOnComplete: false } })));
    const children = workers(3, { QUEUE: name, CONCURRENCY: '32' });
    await waitFor('all jobs', async () => (await queue.getCounts()).completed === total, 60_000);
    await stop(children);

    const starts = (await queue.getJobs('completed', 0, total - 1)).map((job) => job.processedOn ?? 0);
    expect(starts).toHaveLength(total);
    // Every process took part: the limit is shared through Redis, not split per process.
    const pids = new Set((await queue.getJobs('completed', 0, total - 1)).map((job) => job.returnvalue));
    expect(pids.size).toBe(3);
    expect(worstWindow(starts, 1000)).toBeLessThanOrEqual(100);
    const elapsed = Math.max(...starts) - Math.min(...starts) + 1000;
    const achieved = total / (elapsed / 1000);
    expect(achieved).toBeGreaterThanOrEqual(95);
    await queue.obliterate();
    await queue.close();
  }, 90_000);
});

describe('groups across worker processes', () => {
  it('lets nine small tenants finish long before a big one, each within its rate and concurrency', async () => {
    const name = uniqueQueue('groups');
    const queue = new Queue<{ ms: number }>(name, { connection: redis.connection });
    await queue.setGroupLimit({ max: 50, duration: 1000, concurrency: 2 });
    const keep = { removeOnComplete: false } as const;
    await queue.addBulk(Array.from({ length: 20_000 }, () => ({ name: 'big', data: { ms: 20 }, opts: { group: 'big', ...keep } })));
    const small = Array.from({ length: 9 }, (_, g) => `small-${g}`);
    await queue.addBulk(small.flatMap((group) => Array.from({ length: 20 }, () => ({ name: 'small', data: { ms: 20 }, opts: { group, ...keep } }))));

    const children = workers(2, { QUEUE: name, CONCURRENCY: '16' });
    await waitFor('the small groups', async () => {
      const states = await Promise.all(small.map((g) => queue.getGroup(g)));
      return states.every((s) => s.waiting === 0 && s.active === 0);
    }, 60_000);
    const big = await queue.getGroup('big');
    await stop(children);
    // "Long before": the big tenant has barely started when the small ones are done.
    expect(big.waiting).toBeGreaterThan(19_000);

    const jobs = await queue.getJobs('completed', 0, 25_000);
    const byGroup = new Map<string, Job[]>();
    for (const job of jobs) byGroup.set(job.group ?? '', [...(byGroup.get(job.group ?? '') ?? []), job]);
    for (const group of small) expect(byGroup.get(group)).toHaveLength(20);
    for (const [, groupJobs] of byGroup) {
      expect(worstWindow(groupJobs.map((j) => j.processedOn ?? 0), 1000)).toBeLessThanOrEqual(50);
      expect(worstOverlap(groupJobs.map((j) => [j.processedOn ?? 0, j.finishedOn ?? 0] as const))).toBeLessThanOrEqual(2);
    }
    await queue.obliterate({ force: true });
    await queue.close();
  }, 90_000);
});

describe('RateLimitError', () => {
  it('holds the group, not others, and uses no attempt', async () => {
    const name = uniqueQueue('rle');
    const queue = new Queue(name, { connection: redis.connection });
    const runs: { id: string; group?: string; attemptsMade: number; at: number }[] = [];
    let throttled = false;
    const worker = new Worker(
      name,
      async (job, ctx) => {
        runs.push({ id: job.id, attemptsMade: job.attemptsMade, at: job.processedOn ?? 0, ...(job.group === undefined ? {} : { group: job.group }) });
        if (job.group === 'strict' && !throttled) {
          throttled = true;
          ctx.rateLimit(400);
        }
      },
      { connection: redis.connection, concurrency: 4 },
    );
    const limited: number[] = [];
    worker.on('rateLimited', (_job, holdMs) => limited.push(holdMs));
    const strict = await queue.add('call', {}, { group: 'strict', attempts: 1 });
    await waitFor('the hold to start', () => limited.length === 1);
    const other = await queue.add('call', {}, { group: 'relaxed' });
    const strictLater = await queue.add('call', {}, { group: 'strict' });
    await waitFor('every job', async () => (await queue.getCounts()).completed === 3);
    const first = runs.find((r) => r.id === strict.id)!;
    const again = runs.filter((r) => r.id === strict.id)[1]!;
    // Back with the attempt it had: with attempts 1 it would have failed for good otherwise.
    expect(again.attemptsMade).toBe(0);
    expect(again.at - first.at).toBeGreaterThanOrEqual(400);
    expect(runs.find((r) => r.id === strictLater.id)!.at - first.at).toBeGreaterThanOrEqual(400);
    // The other group was not held: it started no later than the held job's return (on a stalled machine
    // one claim may take both, at the same time), not 400 ms after the hold began as a timer would say.
    expect(runs.find((r) => r.id === other.id)!.at).toBeLessThanOrEqual(again.at);
    expect((await queue.getJob(strict.id))?.attemptsMade).toBe(1);
    expect(limited).toEqual([400]);
    await worker.close();
    await queue.close();
  });

  it('counts its runs in attemptsStarted, not in attemptsMade, so a handler can bound its own runs', async () => {
    const name = uniqueQueue('rle-runs');
    const queue = new Queue(name, { connection: redis.connection });
    const runs: [started: number, made: number][] = [];
    const worker = new Worker(
      name,
      async (job, ctx) => {
        runs.push([job.attemptsStarted, job.attemptsMade]);
        // The downstream never lets it through: give up after three runs.
        if (job.attemptsStarted >= 3) throw new UnrecoverableError(`still limited after ${job.attemptsStarted} runs`);
        ctx.rateLimit(10);
      },
      { connection: redis.connection },
    );
    const started: number[] = [];
    worker.on('rateLimited', (job) => started.push(job.attemptsStarted));
    const job = await queue.add('call', {}, { attempts: 5 });
    await waitFor('the job to fail', async () => (await queue.getCounts()).failed === 1);
    expect(runs).toEqual([[1, 0], [2, 0], [3, 0]]);
    expect(started).toEqual([1, 2]);
    const failed = await queue.getJob(job.id);
    expect([failed?.attemptsStarted, failed?.attemptsMade, failed?.failedReason]).toEqual([3, 1, 'still limited after 3 runs']);
    await worker.close();
    await queue.close();
  });

  it('keeps the place of a released job: first in its level it was, first it stays, behind lower levels', async () => {
    const name = uniqueQueue('rle-place');
    const queue = new Queue(name, { connection: redis.connection });
    const runs: string[] = [];
    let limited = false;
    const worker = new Worker(
      name,
      async (job, ctx) => {
        runs.push(job.name);
        if (job.name === 'a' && !limited) {
          limited = true;
          // A job of a lower level, added while the hold lasts, still runs first.
          await queue.add('urgent', {}, { priority: 0 });
          ctx.rateLimit(50);
        }
      },
      { connection: redis.connection, autorun: false },
    );
    await queue.addBulk(['a', 'b', 'c', 'd'].map((n) => ({ name: n, data: {} })));
    void worker.run();
    await waitFor('every job', async () => (await queue.getCounts()).completed === 5);
    expect(runs).toEqual(['a', 'urgent', 'a', 'b', 'c', 'd']);
    await worker.close();
    await queue.close();
  });

  it('keeps the place of a released job in its group', async () => {
    const name = uniqueQueue('rle-group-place');
    const queue = new Queue(name, { connection: redis.connection });
    const runs: string[] = [];
    let limited = false;
    const worker = new Worker(
      name,
      async (job, ctx) => {
        runs.push(job.name);
        if (job.name === 'g1' && !limited) {
          limited = true;
          ctx.rateLimit(50);
        }
      },
      { connection: redis.connection, autorun: false },
    );
    await queue.addBulk(['g1', 'g2', 'g3'].map((n) => ({ name: n, data: {}, opts: { group: 'g' } })));
    void worker.run();
    await waitFor('every job', async () => (await queue.getCounts()).completed === 3);
    expect(runs).toEqual(['g1', 'g1', 'g2', 'g3']);
    await worker.close();
    await queue.close();
  });

  it('holds the whole queue for a job without a group, and says so to the caller as a typed error', () => {
    const error = new RateLimitError(250);
    expect(error.retryAfterMs).toBe(250);
    expect(error.code).toBe('ERR_SLUICE_RATE_LIMIT');
  });
});

describe('changing limits while workers run', () => {
  it('takes effect within one claim: a removed limit frees waiting jobs at once, a new one holds at once', async () => {
    const name = uniqueQueue('change');
    const queue = new Queue(name, { connection: redis.connection, rateLimit: { max: 1, duration: 60_000 } });
    const ran: number[] = [];
    const worker = new Worker(name, async () => void ran.push(Date.now()), { connection: redis.connection, concurrency: 4, blockTimeout: 60_000 });
    await queue.addBulk(Array.from({ length: 5 }, () => ({ name: 'x', data: {} })));
    await waitFor('the one job the limit allows', () => ran.length === 1);
    await sleep(200);
    expect(ran).toHaveLength(1);
    await queue.removeRateLimit();
    // Without the limit gone these would wait a minute.
    await waitFor('the rest', () => ran.length === 5, 5000);
    // The window still holds the one start made under the first limit (starts made with no limit set are
    // not logged: an unlimited queue pays nothing for limits), so max 3 leaves room for two more.
    await queue.setRateLimit({ max: 3, duration: 60_000 });
    await queue.addBulk(Array.from({ length: 5 }, () => ({ name: 'y', data: {} })));
    await waitFor('two more', () => ran.length === 7);
    await sleep(300);
    expect(ran).toHaveLength(7);
    expect(await queue.getRateLimit()).toEqual({ max: 3, duration: 60_000 });
    expect(await queue.getCounts()).toMatchObject({ waiting: 3, completed: 7 });
    await worker.close();
    await queue.close();
  });
});

describe('ctx.throttle (in-process, Bottleneck)', () => {
  it('spaces and caps the outbound calls of all of one process’ running jobs together', async () => {
    const name = uniqueQueue('outbound');
    const queue = new Queue(name, { connection: redis.connection });
    const calls: number[] = [];
    let firstAsked: number | undefined;
    let running = 0;
    let worst = 0;
    const worker = new Worker(
      name,
      async (_job, ctx) => {
        firstAsked ??= Date.now();
        return ctx.throttle(async () => {
          running++;
          worst = Math.max(worst, running);
          calls.push(Date.now());
          await sleep(5);
          running--;
        });
      },
      { connection: redis.connection, concurrency: 10, outbound: { maxConcurrent: 2, minTime: 30 } },
    );
    await queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'call', data: {} })));
    await waitFor('six calls', () => calls.length === 6);
    expect(worst).toBeLessThanOrEqual(2);
    // Bottleneck plans the k-th start at least k x minTime after the first was asked for. A late timer can
    // make one gap, or the span from the first start (itself late on a loaded machine), shorter; measured from
    // the first request the plan holds: the 6th start comes at least 5 x 30 ms after it (less 2 ms: Date.now
    // and the timers' clock round apart).
    expect(calls[calls.length - 1]! - firstAsked!).toBeGreaterThanOrEqual(5 * 30 - 2);
    await worker.close();
    await queue.close();
  });

  it('refuses an outbound limit it does not understand', () => {
    expect(() => new Worker('x', async () => undefined, { connection: redis.connection, outbound: { maxConcurrent: 0 } })).toThrow(
      'outbound.maxConcurrent must be an integer >= 1',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { Queue, Worker, UnrecoverableError } from 'sluice';
import { sampleValue, scrape, startExporter, type Exporter, type Sample } from '../../examples/autoscale-controller.js';
import { EXPORTER_METRICS } from '../../src/metrics/names.js';
import { runCommand } from '../harness/child.js';
import { spawnRedis, uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/** `sluice metrics` as a real process (src/cli.ts through tsx), scraped over HTTP. */
const redis = useRedis();

async function withExporter(queues: readonly string[], run: (exporter: Exporter) => Promise<void>, url = redis.url, extra: readonly string[] = []): Promise<void> {
  const exporter = await startExporter(url, queues, extra);
  try {
    await run(exporter);
  } finally {
    expect(await exporter.stop()).toBe(0);
  }
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return runCommand(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env });
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);

describe('sluice metrics', () => {
  it('serves each queue’s depth, per level, totals and pause, following the queue as it changes', async () => {
    const [a, b] = [uniqueQueue('exp-a'), uniqueQueue('exp-b')];
    const queue = new Queue(a, { connection: redis.connection });
    try {
      await withExporter([a, b], async (exporter) => {
        let samples = await scrape(exporter.port);
        // Every metric of the table is served, and both queues are reported, the empty one too.
        for (const metric of EXPORTER_METRICS) expect(samples.some((s) => s.name === metric.name), metric.name).toBe(true);
        expect(value(samples, 'sluice_queue_jobs', { queue: b, state: 'waiting' })).toBe(0);

        await queue.addBulk([
          ...[1, 2, 3].map((i) => ({ name: 'urgent', data: i, opts: { priority: 0 } })),
          ...[4, 5].map((i) => ({ name: 'bulk', data: i, opts: { priority: 2 } })),
          { name: 'later', data: 6, opts: { delay: 60_000 } },
        ]);
        samples = await scrape(exporter.port);
        expect(value(samples, 'sluice_queue_jobs', { queue: a, state: 'waiting' })).toBe(5);
        expect(value(samples, 'sluice_queue_jobs', { queue: a, state: 'delayed' })).toBe(1);
        expect(value(samples, 'sluice_queue_waiting_jobs', { queue: a, level: '0' })).toBe(3);
        expect(value(samples, 'sluice_queue_waiting_jobs', { queue: a, level: '1' })).toBe(0);
        expect(value(samples, 'sluice_queue_waiting_jobs', { queue: a, level: '2' })).toBe(2);
        expect(value(samples, 'sluice_queue_jobs', { queue: b, state: 'waiting' })).toBe(0);

        // The oldest waiting job ages while nobody takes it.
        await waitFor('the oldest job to be a second old', async () => (value(await scrape(exporter.port), 'sluice_queue_oldest_waiting_seconds', { queue: a }) ?? 0) >= 1);

        await queue.pause();
        samples = await scrape(exporter.port);
        expect(value(samples, 'sluice_queue_paused', { queue: a })).toBe(1);
        expect(value(samples, 'sluice_queue_jobs', { queue: a, state: 'waiting' })).toBe(0);
        expect(value(samples, 'sluice_queue_jobs', { queue: a, state: 'paused' })).toBe(5);
        await queue.resume();

        const worker = new Worker(a, async (job) => {
          if (job.name === 'bulk') throw new UnrecoverableError('no');
          return 'ok';
        }, { connection: redis.connection });
        try {
          await waitFor('the five ready jobs to finish', async () => {
            const counts = await queue.getCounts();
            return counts.completed + counts.failed === 5;
          });
        } finally {
          await worker.close();
        }
        samples = await scrape(exporter.port);
        expect(value(samples, 'sluice_queue_completed_total', { queue: a })).toBe(3);
        expect(value(samples, 'sluice_queue_failed_total', { queue: a })).toBe(2);
        expect(value(samples, 'sluice_queue_jobs', { queue: a, state: 'waiting' })).toBe(0);
        expect(value(samples, 'sluice_queue_jobs', { queue: a, state: 'failed' })).toBe(2);
        expect(value(samples, 'sluice_queue_oldest_waiting_seconds', { queue: a })).toBe(0);
        expect(value(samples, 'sluice_queue_paused', { queue: a })).toBe(0);
      });
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('answers /healthz 200 while Redis answers PING and 503 while it does not', async () => {
    const own = await spawnRedis(['--appendonly', 'yes']);
    try {
      await withExporter(
        [uniqueQueue('exp-health')],
        async (exporter) => {
          const health = async () => (await fetch(`http://127.0.0.1:${exporter.port}/healthz`)).status;
          expect(await health()).toBe(200);
          own.signal('SIGSTOP');
          try {
            expect(await health()).toBe(503);
          } finally {
            own.signal('SIGCONT');
          }
          await waitFor('healthz to recover', async () => (await health()) === 200);
          expect((await fetch(`http://127.0.0.1:${exporter.port}/other`)).status).toBe(404);
        },
        own.url,
      );
    } finally {
      await own.stop();
    }
  }, 60_000);

  it('reads the priorityLevels a queue recorded; refuses to start when --priority-levels says otherwise (exit 1)', async () => {
    const name = uniqueQueue('exp-levels');
    const queue = new Queue(name, { connection: redis.connection, priorityLevels: 5 });
    try {
      await queue.add('x', 1, { priority: 4 });
      await withExporter([name], async (exporter) => {
        expect(value(await scrape(exporter.port), 'sluice_queue_waiting_jobs', { queue: name, level: '4' })).toBe(1);
      });
      const refused = await cli(['metrics', '--queues', name, '--redis', redis.url, '--port', '0', '--priority-levels', '3']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/priorityLevels 5/);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('with no worker running, promotes due delayed jobs and fires schedules, so waiting jobs show; not with --no-scheduler', async () => {
    const name = uniqueQueue('exp-zero');
    const queue = new Queue(name, { connection: redis.connection });
    const waiting = async (exporter: Exporter) => value(await scrape(exporter.port), 'sluice_queue_jobs', { queue: name, state: 'waiting' });
    try {
      const job = await queue.add('reminder', 1, { delay: 200 });
      await withExporter(
        [name],
        async (exporter) => {
          // Past its due time (and a scrape later) the job is still delayed: nothing promotes it.
          await waitFor('the job to be due', async () => Date.now() > job.timestamp + 400);
          expect(await waiting(exporter)).toBe(0);
          expect(value(await scrape(exporter.port), 'sluice_queue_jobs', { queue: name, state: 'delayed' })).toBe(1);
        },
        redis.url,
        ['--no-scheduler'],
      );
      await withExporter([name], async (exporter) => {
        await waitFor('the due job to be promoted to waiting', async () => (await waiting(exporter)) === 1);
        await queue.upsertSchedule('tick', { every: 60_000, startAt: new Date(Date.now() + 200) }, { name: 'tick', data: 2 });
        // A Scheduler looks for new schedules at least every 5 s (SCHEDULE_POLL_MS).
        await waitFor("the schedule's first tick to be enqueued", async () => (await waiting(exporter)) === 2, 20_000);
      });
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('exits 2 with a message that names the problem on a bad command line, and 0 on --help', async () => {
    const noRedis = { ...process.env, REDIS_URL: '' };
    const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
      [['metrics', '--redis', redis.url], /--queues is required/],
      [['metrics', '--queues', 'a', '--redis', redis.url, '--port', 'http'], /--port takes a whole number/],
      [['metrics', '--queues', 'a', '--redis', redis.url, '--port', '70000'], /--port takes a whole number/],
      [['metrics', '--queues', 'a', '--redis', redis.url, '--bogus'], /--bogus/],
      [['metrics', '--queues', 'a{b}', '--redis', redis.url], /brace/],
      [['metrics', '--queues', 'a,a', '--redis', redis.url], /twice/],
      [['metrics', '--queues', 'a', '--redis', 'localhost:6379'], /redis:\/\//],
      [['metrics', '--queues', 'a'], /REDIS_URL/, noRedis],
      [['metrics', '--queues', 'a', '--redis', redis.url, '--priority-levels', '0'], /--priority-levels/],
      [['dashbord'], /unknown command 'dashbord'/],
    ];
    for (const [args, message, env] of cases) {
      const run = await cli(args, env);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
    }
    // A refused URL is not echoed: it may hold a password, and stderr ends up in logs.
    const secret = await cli(['metrics', '--queues', 'a', '--redis', 'HTTP://alice:s3cr3t@db-internal:6399']);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/redis:\/\//);
    expect(`${secret.stdout}${secret.stderr}`).not.toMatch(/s3cr3t|db-internal/);
    const help = await cli(['metrics', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--queues');
  }, 60_000);
});

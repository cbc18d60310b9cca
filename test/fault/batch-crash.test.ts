import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents } from 'sluice';
import { runFixture, type Child } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('a batch of 100,000 jobs while worker processes are SIGKILLed and restarted', () => {
  it('enqueues its callback exactly once, after the last member, with exact totals', async () => {
    const name = uniqueQueue('batch-crash');
    const total = 100_000;
    const queue = new Queue<Record<string, unknown>>(name, { connection: redis.connection });
    const batch = await queue.addBatch(
      Array.from({ length: total }, (_, i) => ({ name: 'member', data: { i } })),
      { onComplete: { name: 'report', data: { run: 'interest-2026-12' } } },
    );
    expect(await queue.getBatch(batch.id)).toMatchObject({ total, pending: total, sealed: true });
    // Deliveries a killed worker held, taken back by the others' sweep: the kills hit work in flight.
    const events = new QueueEvents(name, { connection: redis.connection });
    let stalled = 0;
    events.on('stalled', () => stalled++);

    // Killed workers' deliveries come back after stalledTimeout; maxStalled 1 may fail a member taken back
    // twice: it then counts as failed, and the totals must still add up.
    const env = { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '32', STALLED_TIMEOUT: '2000' };
    const workers: Child[] = [];
    const start = (): Child => {
      const child = runFixture('batch-worker', env);
      workers.push(child);
      return child;
    };
    const live = [start(), start(), start(), start()];
    await waitFor('the workers to start', () => live.every((w) => w.lines.includes('ready')), 30_000);

    const callbacks = (): string[] => workers.flatMap((w) => w.lines.filter((line) => line.startsWith('callback ')));
    let kills = 0;
    const deadline = Date.now() + 90_000;
    while (callbacks().length === 0) {
      await sleep(500);
      const pending = (await queue.getBatch(batch.id))?.pending ?? 0;
      const ready = live.filter((w) => w.lines.includes('ready'));
      // Kill a worker in the middle of the run, while at least two others work on (a replacement takes a few
      // seconds to load), and never for the last few jobs (they would only wait for the sweep).
      if (pending > total / 20 && pending < total && ready.length >= 3) {
        const victim = ready[kills % ready.length] as Child;
        live.splice(live.indexOf(victim), 1);
        victim.process.kill('SIGKILL');
        expect(await victim.exited).toBe('SIGKILL');
        kills++;
        live.push(start());
      }
      if (Date.now() > deadline) throw new Error(`no callback after 90 s; batch: ${JSON.stringify(await queue.getBatch(batch.id))}`);
    }
    // Anything that would enqueue the callback twice has had its chance: the sweep runs every second.
    await sleep(2500);
    for (const worker of live) worker.process.kill(worker.lines.includes('ready') ? 'SIGTERM' : 'SIGKILL');
    await Promise.all(live.map((w) => w.exited));
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(stalled).toBeGreaterThan(0);

    const status = await queue.getBatch(batch.id);
    expect(status).toMatchObject({ total, pending: 0, sealed: true, onComplete: { fired: true } });
    const completed = status?.completed ?? -1;
    const failed = status?.failed ?? -1;
    expect(completed + failed).toBe(total);
    // One callback ran, once, and it was told the final totals: it was enqueued by the last settle.
    expect(callbacks()).toHaveLength(1);
    expect(JSON.parse(callbacks()[0]?.slice('callback '.length) ?? '')).toEqual({ run: 'interest-2026-12', batchId: batch.id, total, completed, failed });
    const report = await queue.getJob(status?.onComplete?.jobId ?? '');
    expect([report?.name, report?.state, report?.attemptsStarted]).toEqual(['report', 'completed', 1]);
    // The batch's counts agree with the queue's lifetime totals: every member settled once, plus the callback.
    const metrics = await queue.getMetrics();
    expect([metrics.completedTotal, metrics.failedTotal]).toEqual([completed + 1, failed]);
    expect(metrics).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
    await events.close();
    await queue.close();
  }, 120_000);
});

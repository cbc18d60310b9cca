import { describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { Autoscaler, sampleValue, scrape, startExporter, type Exporter } from '../../examples/autoscale-controller.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

/**
 * The HPA played locally against real processes: a `sluice metrics` exporter, and worker processes started
 * and SIGTERMed by the controller of examples/autoscale-controller.ts. The ledger of what ran is the
 * workers' stdout, outside Redis.
 *
 * Sizes for 2 shared cores: 10 ms jobs at concurrency 10 give one worker about 1,000 jobs/s at most, so
 * one worker alone would need 20 s for the 20,000 jobs and the extra ones have work to do; 1,000 waiting
 * jobs per replica asks for the maximum of 4 at once.
 */
describe('autoscaling on the exporter metric, as the HPA does', () => {
  it('scales up for a 20,000-job backlog, drains it, scales back to the minimum; every job completes exactly once', async () => {
    const name = uniqueQueue('autoscale');
    const total = 20_000;
    const queue = new Queue(name, { connection: redis.connection });
    let exporter: Exporter | undefined;
    let autoscaler: Autoscaler | undefined;
    try {
      exporter = await startExporter(redis.url, [name]);
      const jobs = await queue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'work', data: { i }, opts: { removeOnComplete: true } })));
      const ids = jobs.map((job) => job.id);

      autoscaler = new Autoscaler({
        queue: name,
        exporterPort: exporter.port,
        worker: { file: 'examples/autoscale-worker.ts', env: { REDIS_URL: redis.url, QUEUE: name, JOB_MS: '10', CONCURRENCY: '10' } },
        minReplicas: 1,
        maxReplicas: 4,
        target: 1000,
        intervalMs: 1000,
        // The HPA's default is 300 s; 3 s keeps the test short and still spans three evaluations.
        scaleDownWindowMs: 3000,
      });
      autoscaler.start();
      const scaler = autoscaler;

      await waitFor('the autoscaler to go above the minimum', () => scaler.peak > 1, 20_000);
      await waitFor('every job to complete', () => scaler.ledger('done').length >= total, 60_000);
      await waitFor('the queue to read empty', async () => {
        const counts = await queue.getCounts();
        return counts.waiting === 0 && counts.active === 0;
      });
      await waitFor('the autoscaler to come back to the minimum', () => scaler.replicas === 1, 20_000);
      // Workers were really stopped on the way down (SIGTERM while they may still hold jobs).
      expect(scaler.events.some((event) => event.to < event.from)).toBe(true);

      // The exporter's counter, read from Redis, agrees with the ledger.
      const samples = await scrape(exporter.port);
      expect(sampleValue(samples, 'sluice_queue_completed_total', { queue: name })).toBe(total);

      const codes = await scaler.stop();
      // Every worker, those stopped by scale-downs included, drained and exited 0 on SIGTERM.
      expect(codes.every((code) => code === 0)).toBe(true);

      // Exactly once: each of the 20,000 ids started once and completed once, across all workers.
      const done = scaler.ledger('done');
      const started = scaler.ledger('start');
      expect(done.length).toBe(total);
      expect(new Set(done).size).toBe(total);
      expect(started.length).toBe(total);
      expect([...done].sort()).toEqual([...ids].sort());
      // More than one worker did real work.
      expect(scaler.all.filter((worker) => worker.lines.some((line) => line.startsWith('done '))).length).toBeGreaterThan(1);
      expect(await queue.getCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    } finally {
      await autoscaler?.stop();
      await exporter?.stop();
      await queue.close();
    }
  }, 120_000);
});

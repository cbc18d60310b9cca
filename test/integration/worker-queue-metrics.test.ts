// The Worker option queueMetrics: the exporter's depth gauges, from a worker, on the application's own
// OpenTelemetry meter, read from Redis at each collection, and no longer read once the worker closes.
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { usePrometheus } from '../harness/prometheus.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();
const { scrape } = usePrometheus();

describe('Worker option queueMetrics', () => {
  it('reports the queue depth from Redis on the global meter, and stops reporting once closed', async () => {
    const name = uniqueQueue('worker-depth');
    const queue = new Queue(name, { connection: redis.connection });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker(name, () => gate, { connection: redis.connection, concurrency: 2, queueMetrics: true });
    await queue.addBulk(Array.from({ length: 5 }, () => ({ name: 'x', data: {} })));
    await queue.add('later', {}, { delay: 60_000 });
    await waitFor('two jobs running', async () => (await queue.getCounts()).active === 2);

    const text = await scrape();
    expect(text).toContain(`sluice_queue_jobs{queue="${name}",state="active"} 2`);
    expect(text).toContain(`sluice_queue_jobs{queue="${name}",state="waiting"} 3`);
    expect(text).toContain(`sluice_queue_jobs{queue="${name}",state="delayed"} 1`);
    expect(text).toContain(`sluice_queue_waiting_jobs{queue="${name}",level="1"} 3`);

    release();
    await waitFor('the five jobs to complete', async () => (await queue.getCounts()).completed === 5);
    expect(await scrape()).toContain(`sluice_queue_completed_total{queue="${name}"} 5`);
    await worker.close();
    // Closed: its callback is gone, so a collection no longer reads Redis through the closed connection
    // (the SDK may still repeat the last values it saw; they no longer follow the queue).
    await queue.addBulk(Array.from({ length: 4 }, () => ({ name: 'x', data: {} })));
    expect((await queue.getCounts()).waiting).toBe(4);
    expect(await scrape()).not.toContain(`sluice_queue_jobs{queue="${name}",state="waiting"} 4`);
    await queue.close();
  });

  it('registers nothing without the option', async () => {
    const name = uniqueQueue('worker-no-depth');
    const worker = new Worker(name, async () => undefined, { connection: redis.connection });
    expect(await scrape()).not.toContain(`queue="${name}"`);
    await worker.close();
  });
});

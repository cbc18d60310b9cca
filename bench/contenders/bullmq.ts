/**
 * BullMQ, with its defaults: the events stream on (capped near 10,000 entries), completed jobs kept
 * (removeOnComplete unset), one attempt, the default lock and stalled-check timings. Priorities: BullMQ's
 * `priority` 1 runs first and 0 means none (such jobs skip the prioritized set and run before every
 * prioritized one), so bench level L is priority L + 1: every job of the priority scenario is prioritized.
 */
import { Queue, Worker } from 'bullmq';
import { packageVersion } from '../environment.js';
import { asError, namedJobProducer, type BenchData, type BenchWorker, type Contender, type Producer, type WorkerSpec } from './contender.js';

async function openProducer(url: string, queueName: string): Promise<Producer> {
  const queue = new Queue<BenchData, void>(queueName, { connection: { url } });
  await queue.waitUntilReady();
  return namedJobProducer(queue, (level) => level + 1);
}

async function openWorker(url: string, queueName: string, spec: WorkerSpec): Promise<BenchWorker> {
  const worker = new Worker<BenchData, void>(queueName, (job) => spec.handler(job.data), {
    connection: { url },
    concurrency: spec.concurrency,
    autorun: false,
  });
  worker.on('completed', () => spec.onCompleted());
  worker.on('failed', (job, error) => spec.onError(new Error(`job ${job?.id ?? '?'} failed: ${error.message}`)));
  worker.on('error', (error) => spec.onError(asError(error)));
  await worker.waitUntilReady();
  return {
    start: () => {
      // run() resolves when the worker closes; its errors reach the 'error' listener above.
      worker.run().catch((error: unknown) => spec.onError(asError(error)));
    },
    close: () => worker.close(),
  };
}

export const bullmq: Contender = {
  id: 'bullmq',
  label: 'BullMQ',
  version: packageVersion('bullmq'),
  priorities: true,
  openProducer,
  openWorker,
};

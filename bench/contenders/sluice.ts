/**
 * sluice, with its defaults: events on (one events entry per script call), completed jobs kept per the
 * default retention ({ count: 1000, age: 1 day }), three priority levels, prefetch min(concurrency, 100).
 */
import { Queue, Worker } from 'sluice';
import { packageVersion } from '../environment.js';
import { asError, namedJobProducer, type BenchData, type BenchWorker, type Contender, type Producer, type WorkerSpec } from './contender.js';

async function openProducer(url: string, queueName: string): Promise<Producer> {
  // The bench's Redis runs without persistence on purpose (the contenders are measured alike): no warning.
  const queue = new Queue<BenchData, void>(queueName, { connection: { url }, redisConfig: 'off' });
  // A read, so the connection is up (and the scripts it loads are loaded) before any timing starts.
  await queue.getCounts();
  // The bench's levels are sluice's own: 0 runs first, on the default three levels.
  return namedJobProducer(queue, (level) => level);
}

async function openWorker(url: string, queueName: string, spec: WorkerSpec): Promise<BenchWorker> {
  const worker = new Worker<BenchData, void>(queueName, (job) => spec.handler(job.data), {
    connection: { url },
    redisConfig: 'off',
    concurrency: spec.concurrency,
    autorun: false,
  });
  worker.on('completed', () => spec.onCompleted());
  worker.on('failed', (job, error) => spec.onError(new Error(`job ${job.id} failed: ${error.message}`)));
  worker.on('retrying', (job, error) => spec.onError(new Error(`job ${job.id} failed an attempt: ${error.message}`)));
  worker.on('error', (error) => spec.onError(asError(error)));
  await worker.store.client.ping();
  return {
    start: () => {
      // The claim loop's promise is awaited by close(), and the loop itself never rejects.
      void worker.run();
    },
    close: () => worker.close(),
  };
}

export const sluice: Contender = {
  id: 'sluice',
  label: 'sluice',
  version: packageVersion('sluice'),
  priorities: true,
  openProducer,
  openWorker,
};

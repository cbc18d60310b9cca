/**
 * Bee-Queue, with its defaults (events published per finished job, finished jobs kept, stall checks every
 * 5 s, delayed jobs activated with a 1,000 ms debounce) except one thing a fair comparison needs: no
 * queue here listens to events, as sluice's and BullMQ's queues and workers do not either (they need a
 * QueueEvents for that). So getEvents is off on both sides, and on the producer storeJobs too: without
 * events nothing would ever take its jobs out of the map it keeps them in. The producer is a
 * non-worker queue (isWorker: false), as Bee-Queue's README does it for code that only adds jobs.
 * Bee-Queue has no priorities: the priority scenario skips it.
 */
import BeeQueue from 'bee-queue';
import { packageVersion } from '../environment.js';
import { asError, type BenchData, type BenchJob, type BenchWorker, type Contender, type Producer, type WorkerSpec } from './contender.js';

function redisSettings(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port === '' ? 6379 : parsed.port) };
}

function createJob(queue: BeeQueue<BenchData>, job: BenchJob): BeeQueue.Job<BenchData> {
  if (job.priority !== undefined) throw new Error('Bee-Queue has no priorities');
  const created = queue.createJob(job.data);
  return job.runAtMs === undefined ? created : created.delayUntil(job.runAtMs);
}

async function openProducer(url: string, queueName: string): Promise<Producer> {
  const queue = new BeeQueue<BenchData>(queueName, { redis: redisSettings(url), isWorker: false, getEvents: false, storeJobs: false });
  await queue.ready();
  return {
    addBulk: async (jobs) => {
      const failed = await queue.saveAll(jobs.map((job) => createJob(queue, job)));
      const first = failed.values().next();
      if (first.done !== true) throw new Error(`saveAll: ${failed.size} of ${jobs.length} jobs not saved: ${first.value.message}`);
    },
    add: async (job) => {
      await createJob(queue, job).save();
    },
    close: () => queue.close(),
  };
}

async function openWorker(url: string, queueName: string, spec: WorkerSpec): Promise<BenchWorker> {
  const queue = new BeeQueue<BenchData>(queueName, {
    redis: redisSettings(url),
    getEvents: false,
    activateDelayedJobs: spec.delayedJobs,
  });
  queue.on('succeeded', () => spec.onCompleted());
  queue.on('failed', (job, error) => spec.onError(new Error(`job ${job.id} failed: ${error.message}`)));
  queue.on('retrying', (job, error) => spec.onError(new Error(`job ${job.id} failed an attempt: ${error.message}`)));
  queue.on('error', (error) => spec.onError(asError(error)));
  await queue.ready();
  return {
    start: () => {
      queue.process(spec.concurrency, (job) => spec.handler(job.data));
    },
    close: () => queue.close(),
  };
}

export const beeQueue: Contender = {
  id: 'bee-queue',
  label: 'Bee-Queue',
  version: packageVersion('bee-queue'),
  priorities: false,
  openProducer,
  openWorker,
};

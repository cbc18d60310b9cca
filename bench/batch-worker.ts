/**
 * One worker process of the batch bench (bench/batch.ts): members sleep JOB_MS (the seed's 10 ms of work per
 * record), a batch's callback prints "callback <Date.now()> <its data as JSON>". Prints "ready" once its
 * Worker runs; a SIGTERM closes it. STALLED_TIMEOUT (ms, the Worker's default when unset) is how long the
 * deliveries of a worker the bench SIGKILLs wait before another worker's sweep takes them back.
 */
import { Worker } from 'sluice';

const ms = Number(process.env.JOB_MS ?? '10');
const stalledTimeout = process.env.STALLED_TIMEOUT === undefined ? undefined : Number(process.env.STALLED_TIMEOUT);
const worker = new Worker<Record<string, unknown>>(
  process.env.QUEUE ?? 'batch-bench',
  async (job) => {
    if (job.name !== 'member') {
      process.stdout.write(`callback ${Date.now()} ${JSON.stringify(job.data)}\n`);
      return;
    }
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  },
  {
    connection: { url: process.env.REDIS_URL ?? '' },
    concurrency: Number(process.env.CONCURRENCY ?? '100'),
    ...(stalledTimeout === undefined ? {} : { stalledTimeout }),
  },
);
worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
process.stdout.write('ready\n');

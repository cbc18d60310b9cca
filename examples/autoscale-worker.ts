/**
 * A worker process as Kubernetes runs it: started by the autoscaler (examples/autoscale.ts, or a
 * Deployment scaled by an HPA or KEDA, see examples/k8s/), stopped with SIGTERM.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 QUEUE=emails npx tsx examples/autoscale-worker.ts
 *
 * Prints "start <id>" when a handler begins and "done <id>" when its completion was accepted, so whoever
 * started it can keep a ledger of every job outside Redis.
 *
 * On SIGTERM it stops claiming, lets the running jobs finish and settle (worker.close()), and exits 0.
 * Should that take longer than DRAIN_TIMEOUT_MS, it exits 1 instead: its unfinished jobs are then taken
 * back by the stalled-job sweep, never lost. Keep the pod's terminationGracePeriodSeconds above
 * DRAIN_TIMEOUT_MS (test/unit/k8s-manifests.test.ts checks the example manifests do), or Kubernetes
 * SIGKILLs the pod first.
 */
import { Worker } from 'sluice';

const JOB_MS = Number(process.env.JOB_MS ?? '10');
/** 25 s: jobs here take milliseconds; the default grace period of a pod is 30 s. */
const DRAIN_TIMEOUT_MS = Number(process.env.DRAIN_TIMEOUT_MS ?? '25000');

const worker = new Worker<unknown, number>(
  process.env.QUEUE ?? 'autoscale',
  async (job) => {
    process.stdout.write(`start ${job.id}\n`);
    await new Promise((resolve) => setTimeout(resolve, JOB_MS));
    return process.pid;
  },
  { connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, concurrency: Number(process.env.CONCURRENCY ?? '10') },
);
worker.on('completed', (job) => process.stdout.write(`done ${job.id}\n`));
worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));

process.once('SIGTERM', () => {
  setTimeout(() => {
    process.stderr.write(`worker: still draining after ${DRAIN_TIMEOUT_MS} ms; exiting, the stalled-job sweep takes the rest back\n`);
    process.exit(1);
  }, DRAIN_TIMEOUT_MS).unref();
  worker.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`worker: close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
process.stdout.write('ready\n');

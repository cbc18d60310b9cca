/**
 * A worker: a long-running process that runs the jobs of the 'emails' queue (see examples/producer.ts).
 * Run as many copies as you like, on as many machines: each job is delivered to one worker at a time.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/worker.ts
 *
 * Stop it with Ctrl-C or SIGTERM (what Kubernetes sends): it stops taking jobs, finishes the ones it is
 * running, and exits. Jobs are never lost on a hard kill either; they just wait for the stalled-job sweep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker, type ConnectionOptions, type Job, type ProcessorContext } from 'sluice';
import type { EmailData, Log } from './producer.js';

/** What a handler returns is stored with the job (as `returnvalue`) and sent with its 'completed' event. */
export interface EmailResult {
  to: string;
  /** The id the mail provider gave the message; derived from the job id here, so reruns are recognisable. */
  messageId: string;
}

/** What this worker returns for a job: tests and the demo compare results against it. */
export function expectedResult(jobId: string, data: EmailData): EmailResult {
  return { to: data.to, messageId: `msg-${jobId}` };
}

/**
 * Addresses at this domain stand for a mail provider that is down: their jobs fail while `providerDown` is
 * set. `npm run demo -- --dashboard` uses it to leave a failed job for you to retry in the dashboard.
 */
export const OUTAGE_DOMAIN = 'outage.example';
let providerDown = false;

/** Sets whether the mail provider of OUTAGE_DOMAIN is down. */
export function setProviderDown(down: boolean): void {
  providerDown = down;
}

/**
 * The handler. It may run more than once for one job (a retry after a failure, or a rerun after a crash),
 * so real code makes the side effect idempotent, e.g. by passing job.id to the mail provider.
 */
async function sendEmail(job: Job<EmailData, EmailResult>, ctx: ProcessorContext, log: Log): Promise<EmailResult> {
  log(`sending '${job.name}' to ${job.data.to}: "${job.data.subject}" (job ${job.id}, attempt ${job.attemptsStarted})`);
  await job.updateProgress(50);
  if (providerDown && job.data.to.endsWith(`@${OUTAGE_DOMAIN}`)) throw new Error(`the mail provider of ${OUTAGE_DOMAIN} is down`);
  // Stands in for the call to the mail provider. Passing ctx.signal makes the wait end as soon as the
  // attempt times out or the lease is lost, instead of finishing work nobody will record.
  await sleep(50, undefined, { signal: ctx.signal });
  await job.updateProgress(100);
  return expectedResult(job.id, job.data);
}

/** Starts a worker on `queueName` and returns it; the caller closes it (await worker.close()). */
export function startWorker(connection: ConnectionOptions, queueName: string, log: Log = console.log): Worker<EmailData, EmailResult> {
  const worker = new Worker<EmailData, EmailResult>(queueName, (job, ctx) => sendEmail(job, ctx, log), {
    connection,
    // Up to 8 emails in flight at once from this process: sending is I/O-bound, so one process can
    // overlap many. Claims take up to 8 jobs per round trip to Redis.
    concurrency: 8,
  });

  worker.on('completed', (job, result) => {
    log(`completed job ${job.id} ('${job.name}'): message ${result.messageId} to ${result.to}`);
  });
  // 'failed' means failed for good (attempts used up, or UnrecoverableError); attempts that will be
  // retried are reported as 'retrying' instead.
  worker.on('failed', (job, error) => {
    log(`FAILED job ${job.id} ('${job.name}') after ${job.attemptsMade} attempts: ${error.message}`);
  });
  // Without an 'error' listener sluice reports problems (Redis away, a lost lease) as process warnings;
  // listening sends them to our log. The worker keeps going: it reconnects and retries on its own.
  worker.on('error', (error) => {
    log(`worker error: ${error.message}`);
  });
  return worker;
}

// Runs only as a script (npx tsx examples/worker.ts), not when imported by the demo or the tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const worker = startWorker({ url }, 'emails');
  console.log(`worker ${worker.consumer} running 'emails' at ${url}; Ctrl-C to stop`);

  // The Kubernetes pattern: on SIGTERM stop taking jobs and let the running ones finish (keep the pod's
  // terminationGracePeriodSeconds above your longest job). A second signal exits at once.
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    console.log(`${signal}: finishing ${worker.running} running job(s), then exiting (again to force)`);
    process.once(signal, () => process.exit(130));
    await worker.close();
    console.log('worker closed');
    // Nothing is left open after close(), so the process now exits by itself with this code.
    process.exitCode = 0;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).catch((error: unknown) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      });
    });
  }
}

/**
 * A producer: the side of an application that asks for work to be done (a web request handler, a cron
 * job...). It adds email jobs to the 'emails' queue and exits; a worker (examples/worker.ts) runs them.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/producer.ts
 */
import { pathToFileURL } from 'node:url';
import { Queue, type ConnectionOptions, type Counts } from 'sluice';

/** What a job carries: only what the worker needs, kept small (it is stored in Redis with the job). */
export interface EmailData {
  to: string;
  subject: string;
}

/**
 * The idempotency key of the receipt job. A real app derives it from its own data (here, the order the
 * receipt is for), so a retried HTTP request or a re-run cron job cannot queue the same email twice.
 */
export const RECEIPT_JOB_ID = 'receipt-order-1001';

/** Jobs produce() creates: 4 single adds (one of them added twice) plus a bulk of 10. */
export const BULK_SIZE = 10;
export const DISTINCT_JOBS = 4 + BULK_SIZE;

export type Log = (line: string) => void;

/**
 * Adds the example jobs to `queueName` and returns the ids of the distinct jobs it created, in the order
 * added. Opens and closes its own Queue, as a short-lived script would.
 */
export async function produce(connection: ConnectionOptions, queueName: string, log: Log = console.log): Promise<string[]> {
  // Type parameters document the job's data and the worker's result; sluice stores any msgpack value.
  const queue = new Queue<EmailData>(queueName, { connection });
  try {
    const ids: string[] = [];

    // 1. A plain job: runs at the default (middle) priority, as soon as a worker is free.
    const welcome = await queue.add('welcome', { to: 'ada@example.com', subject: 'Welcome aboard' });
    ids.push(welcome.id);
    log(`added '${welcome.name}' as job ${welcome.id} (${welcome.state})`);

    // 2. Priority 0 is the most urgent level: waiting jobs of level 0 are claimed before all others.
    const reset = await queue.add(
      'password-reset',
      { to: 'grace@example.com', subject: 'Reset your password' },
      { priority: 0 },
    );
    ids.push(reset.id);
    log(`added '${reset.name}' as job ${reset.id} (${reset.state}, priority ${reset.priority})`);

    // 3. A delayed job stays 'delayed' for 1 s; then a worker picks it up like any waiting job.
    const reminder = await queue.add(
      'reminder',
      { to: 'alan@example.com', subject: 'Your trial ends tomorrow' },
      { delay: 1000 },
    );
    ids.push(reminder.id);
    log(`added '${reminder.name}' as job ${reminder.id} (${reminder.state}, runs in 1 s)`);

    // 4. With a jobId the add is idempotent: adding the same id again returns the existing job instead of
    //    queueing a second one (whatever state the first is in by then).
    const receiptData: EmailData = { to: 'edsger@example.com', subject: 'Your receipt for order 1001' };
    const receipt = await queue.add('receipt', receiptData, { jobId: RECEIPT_JOB_ID });
    const again = await queue.add('receipt', receiptData, { jobId: RECEIPT_JOB_ID });
    ids.push(receipt.id);
    log(`added '${receipt.name}' as job ${receipt.id}; adding it again returned job ${again.id} (same job: ${String(again.id === receipt.id)})`);

    // 5. addBulk sends many jobs in one round trip (one script call per 1,000), far faster than a loop of add().
    const newsletter = await queue.addBulk(
      Array.from({ length: BULK_SIZE }, (_, i) => ({
        name: 'newsletter',
        data: { to: `reader${i + 1}@example.com`, subject: 'This month at sluice' },
        // Bulk mail must not hold up the urgent ones: the lowest of the default 3 levels.
        opts: { priority: 2 },
      })),
    );
    ids.push(...newsletter.map((job) => job.id));
    log(`added ${newsletter.length} 'newsletter' jobs in bulk: ids ${newsletter.map((job) => job.id).join(', ')}`);

    // Exact counts (no scans): what is queued right now. A worker already running may have taken some.
    const counts = await queue.getCounts();
    log(`counts: ${formatCounts(counts)}`);
    return ids;
  } finally {
    // Always close: an open Queue keeps its Redis connection, and with it the process, alive.
    await queue.close();
  }
}

export function formatCounts(counts: Counts): string {
  return Object.entries(counts)
    .map(([state, count]) => `${state} ${count}`)
    .join(', ');
}

// Runs only as a script (npx tsx examples/producer.ts), not when imported by the demo or the tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  produce({ url }, 'emails').then(
    (ids) => console.log(`done: ${ids.length} jobs queued on 'emails' at ${url}`),
    (error: unknown) => {
      console.error('producer failed:', error);
      process.exitCode = 1;
    },
  );
}

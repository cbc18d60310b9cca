/**
 * `npm run demo`: the producer and the worker examples together, start to finish, in one process.
 *
 * Uses REDIS_URL when set; otherwise starts a private redis-server (from PATH) on a free port and stops
 * it at the end, so the demo needs no setup beyond an installed Redis. Waits until every job it added has
 * completed (the delayed one too), prints what each returned and the final counts, and exits 0; exits 1
 * if Redis cannot be reached or any job did not complete.
 *
 * `npm run demo -- --dashboard` then keeps going: it leaves one job failed (its mail provider was down),
 * serves the dashboard on http://127.0.0.1:3000 (PORT to change it) with the worker still running, and
 * waits for Ctrl-C. Retry the failed job there and watch it complete.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Queue, QueueEvents, type Counts } from 'sluice';
import { hasRedisServer, noRedisMessage, spawnRedis, type TestRedis } from '../test/harness/redis-server.js';
import { DISTINCT_JOBS, formatCounts, produce, type EmailData, type Log } from './producer.js';
import { expectedResult, OUTAGE_DOMAIN, setProviderDown, startWorker, type EmailResult } from './worker.js';

/** Longest wait for any one job: the delayed job is due after 1 s, the rest are near instant. */
const JOB_TIMEOUT_MS = 8000;

const prefixed =
  (prefix: string): Log =>
  (line) =>
    console.log(`${prefix} ${line}`);

/** Where Redis is: REDIS_URL, or a redis-server started here (undefined when neither is possible). */
async function getRedis(): Promise<TestRedis | undefined> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') {
    console.log(`Using Redis at ${url} (REDIS_URL)`);
    return { url, kind: 'url', stop: () => Promise.resolve() };
  }
  if (!hasRedisServer()) {
    console.error(noRedisMessage());
    console.error('The demo starts its own redis-server when REDIS_URL is unset; with REDIS_URL=redis://host:port it uses that Redis instead.');
    return undefined;
  }
  // With persistence, as sluice asks of a real Redis (its data lives in a temp dir and is thrown away).
  const redis = await spawnRedis(['--appendonly', 'yes']);
  console.log(`Started a private redis-server at ${redis.url} (stopped when the demo ends)`);
  return redis;
}

/**
 * Fails fast when Redis does not answer. Without this the demo would wait forever on a wrong REDIS_URL:
 * QueueEvents' blocking connection retries without limit, by design (a worker must outlive Redis restarts).
 */
async function assertReachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  // connect() rejects with a bare "Connection is closed"; the 'error' event has the cause (ECONNREFUSED...).
  let cause: Error | undefined;
  probe.on('error', (error: Error) => (cause = error));
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch (error) {
    console.error(`Redis at ${url} does not answer: ${(cause ?? (error as Error)).message}`);
    return false;
  } finally {
    // disconnect() on a client that never connected arms a 2 s timer (ioredis' disconnectTimeout) that
    // would hold the process open for nothing.
    if (probe.status !== 'end') probe.disconnect();
  }
}

async function main(): Promise<number> {
  const redis = await getRedis();
  if (redis === undefined) return 1;
  // Everything opened below is closed by cleanup(), whichever way the demo ends.
  const closers: (() => Promise<void>)[] = [() => redis.stop()];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      // Reverse order: the worker and the queues close before the Redis they talk to is stopped.
      for (const close of closers.reverse()) await close().catch((error: unknown) => console.error('cleanup:', error));
    })());
  // Ctrl-C: still close everything and stop the embedded redis-server instead of leaving it running.
  if (!process.argv.includes('--dashboard')) {
    process.once('SIGINT', () => {
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    if (!(await assertReachable(redis.url))) return 1;
    const connection = { url: redis.url };
    // A queue of its own, so a shared REDIS_URL (or an earlier run) cannot leave jobs that change the counts.
    const queueName = `emails-demo-${randomUUID().slice(0, 8)}`;
    console.log(`Queue: '${queueName}'\n`);

    // Listen before producing, so no 'completed' event can happen before we look for it.
    const events = new QueueEvents(queueName, { connection });
    closers.push(() => events.close());
    await events.waitUntilReady();

    const worker = startWorker(connection, queueName, prefixed('[worker]  '));
    closers.push(() => worker.close());
    const ids = await produce(connection, queueName, prefixed('[producer]'));

    const queue = new Queue<EmailData, EmailResult>(queueName, { connection });
    closers.push(() => queue.close());
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const job = await queue.getJob(id);
        if (job === undefined) return { id, line: `job ${id}: not found`, ok: false };
        try {
          const result = await job.waitUntilFinished(events, JOB_TIMEOUT_MS);
          const expected = expectedResult(job.id, job.data);
          const ok = result.messageId === expected.messageId && result.to === expected.to;
          return { id, line: `job ${id.padEnd(18)} ${job.name.padEnd(15)} -> sent ${result.messageId} to ${result.to}`, ok };
        } catch (error) {
          return { id, line: `job ${id.padEnd(18)} ${job.name.padEnd(15)} -> did not complete: ${(error as Error).message}`, ok: false };
        }
      }),
    );

    const counts = await settledCounts(queue, ids.length);
    const completed = outcomes.filter((outcome) => outcome.ok).length;
    console.log('\nResults:');
    for (const outcome of outcomes) console.log(`  ${outcome.line}`);
    console.log(`\nFinal counts: ${formatCounts(counts)}`);
    const allDone = completed === ids.length && ids.length === DISTINCT_JOBS && counts.completed === ids.length;
    if (allDone) {
      console.log(`All ${ids.length} jobs completed.`);
    } else {
      console.log(`Only ${completed} of ${ids.length} jobs completed (${DISTINCT_JOBS} expected).`);
    }
    if (allDone && process.argv.includes('--dashboard')) {
      await serveDashboard(connection, queue, events, () => cleanup());
      return 0;
    }
    // Leave a shared Redis as it was found (an embedded one is thrown away anyway). The worker goes first:
    // a worker still polling a deleted queue would set it up again. close() is safe to call twice.
    if (redis.kind === 'url') {
      await worker.close();
      await queue.obliterate();
    }
    return allDone ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/**
 * `--dashboard`: one job that fails for good (its provider is down while it runs), then the dashboard over
 * everything, until Ctrl-C. The worker keeps running, so a retry from the dashboard completes.
 */
async function serveDashboard(connection: { url: string }, queue: Queue<EmailData, EmailResult>, events: QueueEvents, cleanup: () => Promise<void>): Promise<void> {
  setProviderDown(true);
  const job = await queue.add('welcome', { to: `ada@${OUTAGE_DOMAIN}`, subject: 'Welcome!' }, { attempts: 1 });
  await job.waitUntilFinished(events, JOB_TIMEOUT_MS).catch(() => undefined);
  setProviderDown(false);
  // Loaded here: the plain demo never loads the dashboard.
  const { createDashboard } = await import('sluice/dashboard');
  const dashboard = createDashboard({ connection });
  const server = createServer((req, res) => void dashboard(req, res));
  const port = Number(process.env.PORT ?? 3000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : port}`;
  console.log(`\nJob ${job.id} failed for good: its mail provider was down (it is up again now).`);
  console.log(`Dashboard: ${url}/queues/${encodeURIComponent(queue.name)}/jobs/${encodeURIComponent(job.id)}  (retry it there; Ctrl-C to stop)`);
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  server.close();
  await dashboard.close();
  await cleanup();
}

/**
 * The counts once every job is settled. The last completion and its counter update may land a moment
 * after the event we waited for, so this polls briefly instead of printing a half-updated picture.
 */
async function settledCounts(queue: Queue<EmailData, EmailResult>, expected: number): Promise<Counts> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const counts = await queue.getCounts();
    if (counts.completed + counts.failed >= expected || Date.now() > deadline) return counts;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed, so the process should exit by itself now; if something was left open, exit
    // anyway rather than hang (the timer does not itself keep the process alive).
    setTimeout(() => {
      console.error('demo: something was left open; exiting anyway');
      process.exit(code);
    }, 2000).unref();
  },
  (error: unknown) => {
    console.error('demo failed:', error);
    process.exit(1);
  },
);

import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents } from 'sluice';
import { BULK_SIZE, DISTINCT_JOBS, RECEIPT_JOB_ID, produce, type EmailData } from '../../examples/producer.js';
import { expectedResult, startWorker, type EmailResult } from '../../examples/worker.js';
import { runCommand, runTs, type CommandRun } from '../harness/child.js';
import { FormClient } from '../harness/dashboard.js';
import { hasRedisServer } from '../harness/redis-server.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

/** Runs a command in the repo root; never rejects on a non-zero exit, so tests can assert on the code. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandRun> {
  return runCommand(command, args, { env });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('examples/producer.ts + examples/worker.ts', () => {
  it('every produced job completes with the worker result, and the counts end exact', async () => {
    const name = uniqueQueue('examples');
    const quiet = (): void => undefined;
    // The worker first, as in production: jobs are taken while the producer is still adding them.
    const worker = startWorker(redis.connection, name, quiet);
    const events = new QueueEvents(name, { connection: redis.connection });
    const queue = new Queue<EmailData, EmailResult>(name, { connection: redis.connection });
    try {
      const ids = await produce(redis.connection, name, quiet);

      // The receipt was added twice with one jobId: one job, so the ids are all distinct.
      expect(ids).toHaveLength(DISTINCT_JOBS);
      expect(new Set(ids).size).toBe(DISTINCT_JOBS);
      expect(ids.filter((id) => id === RECEIPT_JOB_ID)).toHaveLength(1);

      const finished = await Promise.all(
        ids.map(async (id) => {
          const job = await queue.getJob(id);
          if (job === undefined) throw new Error(`job ${id} was not stored`);
          return { job, result: await job.waitUntilFinished(events, 10_000) };
        }),
      );
      for (const { job, result } of finished) expect(result).toEqual(expectedResult(job.id, job.data));
      // Each kind of job the producer adds ran, the delayed 'reminder' included.
      const names = finished.map(({ job }) => job.name);
      expect(names.filter((n) => n === 'newsletter')).toHaveLength(BULK_SIZE);
      expect(new Set(names)).toEqual(new Set(['welcome', 'password-reset', 'reminder', 'receipt', 'newsletter']));

      await waitFor('all completions to be counted', async () => (await queue.getCounts()).completed === DISTINCT_JOBS);
      expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: DISTINCT_JOBS, failed: 0, paused: 0, limited: 0, blocked: 0 });

      // What the worker stored matches what it returned, and its last progress report.
      const receipt = await queue.getJob(RECEIPT_JOB_ID);
      expect(receipt?.state).toBe('completed');
      expect(receipt?.returnvalue).toEqual({ to: 'edsger@example.com', messageId: `msg-${RECEIPT_JOB_ID}` });
      expect(receipt?.progress).toBe(100);
      expect(receipt?.attemptsMade).toBe(1);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('the worker finishes a running job before close() resolves (graceful shutdown)', async () => {
    const name = uniqueQueue('examples-close');
    const worker = startWorker(redis.connection, name, () => undefined);
    const queue = new Queue<EmailData, EmailResult>(name, { connection: redis.connection });
    try {
      const started = new Promise((resolve) => worker.once('active', resolve));
      const job = await queue.add('welcome', { to: 'ada@example.com', subject: 'Welcome aboard' });
      // Close as soon as the handler has started: close() must wait for it, not abandon it.
      await started;
      await worker.close();
      const stored = await queue.getJob(job.id);
      expect(stored?.state).toBe('completed');
      expect(stored?.returnvalue).toEqual(expectedResult(job.id, job.data));
      expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 0, paused: 0, limited: 0, blocked: 0 });
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});

describe('npm run demo', () => {
  it('runs against REDIS_URL, reports every job completed and exits 0', async () => {
    const { code, stdout, stderr } = await run('npm', ['run', 'demo'], { ...process.env, REDIS_URL: redis.url });
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toContain(`Using Redis at ${redis.url}`);
    expect(stdout).toContain(`All ${DISTINCT_JOBS} jobs completed.`);
    expect(stdout).toMatch(new RegExp(`completed ${DISTINCT_JOBS}, failed 0`));
    // The delayed job and the idempotent one are among the results.
    expect(stdout).toMatch(/reminder\s+-> sent msg-\d+ to alan@example\.com/);
    expect(stdout).toContain(`-> sent msg-${RECEIPT_JOB_ID} to edsger@example.com`);
    // On a Redis it was pointed at, the demo deletes its queue afterwards.
    const queueName = /^Queue: '(.+)'$/m.exec(stdout)?.[1];
    expect(queueName, stdout).toBeDefined();
    const client = new Redis(redis.url);
    try {
      expect(await client.keys(`sluice:{${queueName}}:*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('with --dashboard, leaves a failed job and serves the dashboard, where a retry completes it', async () => {
    const demo = runTs('examples/demo.ts', ['--dashboard'], { REDIS_URL: redis.url, PORT: '0' });
    try {
      await waitFor('the dashboard address', () => demo.lines.some((line) => line.startsWith('Dashboard: ')), 45_000);
      const address = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+)(\/queues\/([^/]+)\/jobs\/([^ ]+))/m.exec(demo.lines.join('\n'));
      expect(address, demo.lines.join('\n')).not.toBeNull();
      const [, origin, page, queueName, jobId] = address as unknown as [string, string, string, string, string];
      const client = new FormClient(origin);
      const before = await client.get(page);
      expect(before.status).toBe(200);
      expect(before.text).toContain('the mail provider of outage.example is down');
      // The dashboard's own Retry button: a form POST with its CSRF token.
      expect((await client.post(`${page}/actions/retry`)).status).toBe(303);
      const queue = new Queue(decodeURIComponent(queueName), { connection: redis.connection });
      try {
        await waitFor('the retried job to complete', async () => (await queue.getJob(decodeURIComponent(jobId)))?.state === 'completed', 15_000);
      } finally {
        await queue.close();
      }
    } finally {
      demo.process.kill('SIGINT');
    }
    expect(await demo.exited).toBe(0);
  }, 90_000);

  it.skipIf(!hasRedisServer())('without REDIS_URL, starts a private redis-server and stops it at the end', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.REDIS_URL;
    const { code, stdout, stderr } = await run('npm', ['run', 'demo'], env);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toContain(`All ${DISTINCT_JOBS} jobs completed.`);
    const port = /Started a private redis-server at redis:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
    expect(port, stdout).toBeDefined();
    // Stopped means gone: nothing accepts connections on its port any more.
    await expect(canConnect(Number(port))).resolves.toBe(false);
  }, 60_000);

  it('without Redis on PATH or REDIS_URL, says how to get one and exits 1', async () => {
    // tsx runs the demo with this same node binary, so an empty PATH hides only redis-server.
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '' };
    delete env.REDIS_URL;
    const { code, stdout, stderr } = await run(process.execPath, [tsx, 'examples/demo.ts'], env);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(1);
    expect(stderr).toContain('install redis-server');
    expect(stderr).toContain('REDIS_URL');
  }, 60_000);
});

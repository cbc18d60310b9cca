// sluice's pino logging: the lines it writes at debug, the job child logger's bindings, worker errors
// routed to the logger, and job data never written, captured through a pino destination stream.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A debug-level pino logger whose output is kept, raw and parsed. */
function capture(): { logger: pino.Logger; raw: () => string; lines: () => Line[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    raw: () => text,
    lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Line),
  };
}

const SECRET = 'hunter2-do-not-log';

describe('logging', () => {
  it('logs the jobs it runs at debug with their bindings, and never their data or results', async () => {
    const name = uniqueQueue('logged');
    const log = capture();
    const queue = new Queue<{ to: string; password: string }, { token: string }>(name, { connection: redis.connection, logger: log.logger });
    const worker = new Worker<{ to: string; password: string }, { token: string }>(
      name,
      async (job) => {
        job.logger.info('sending');
        if (job.attemptsMade === 0 && job.name === 'flaky') throw new Error('smtp down');
        if (job.name === 'doomed') throw new Error('mailbox gone');
        return { token: SECRET };
      },
      { connection: redis.connection, logger: log.logger },
    );
    const ok = await queue.add('welcome', { to: 'ada@example.com', password: SECRET });
    const flaky = await queue.add('flaky', { to: 'alan@example.com', password: SECRET }, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
    const doomed = await queue.add('doomed', { to: 'grace@example.com', password: SECRET }, { attempts: 1 });
    await waitFor('the three jobs to finish', async () => {
      const counts = await queue.getCounts();
      return counts.completed === 2 && counts.failed === 1;
    });
    await worker.close();
    await queue.close();

    const lines = log.lines();
    const find = (msg: string, jobId: string): Line[] => lines.filter((line) => line.msg === msg && line.jobId === jobId);
    expect(lines.filter((line) => line.msg === 'jobs added').map((line) => line.jobId)).toEqual([ok.id, flaky.id, doomed.id]);
    expect(find('job started', ok.id)).toHaveLength(1);
    expect(find('job completed', ok.id)[0]).toMatchObject({ level: 20, queue: name, jobName: 'welcome', attempt: 1 });
    expect(find('job attempt failed; it will be retried', flaky.id)[0]).toMatchObject({ level: 30, attempt: 1, err: { message: 'smtp down' } });
    expect(find('job completed', flaky.id)[0]).toMatchObject({ attempt: 2 });
    expect(find('job failed for good', doomed.id)[0]).toMatchObject({ level: 40, attempt: 1, err: { message: 'mailbox gone' } });
    // The handler's own line through job.logger carries the job's bindings.
    expect(lines.filter((line) => line.msg === 'sending' && line.jobId === flaky.id).map((line) => line.attempt)).toEqual([1, 2]);
    expect(find('sending', ok.id)[0]).toMatchObject({ queue: name, jobName: 'welcome', attempt: 1 });

    expect(log.raw()).not.toContain(SECRET);
    expect(log.raw()).not.toContain('ada@example.com');
  });

  it("logs a worker error that no 'error' listener took, instead of a process warning", async () => {
    const name = uniqueQueue('logged-error');
    const log = capture();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    const queue = new Queue(name, { connection: redis.connection });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker(
      name,
      async () => {
        await gate;
        return 'late';
      },
      { connection: redis.connection, logger: log.logger },
    );
    try {
      const job = await queue.add('doomed', {});
      await waitFor('the job to run', () => worker.running === 1);
      // The job is deleted under the running handler: its completion is refused, which the worker reports.
      await queue.obliterate({ force: true });
      release();
      await waitFor('the error line', () => log.lines().some((line) => line.msg === 'sluice worker error'));
      const line = log.lines().find((entry) => entry.msg === 'sluice worker error');
      expect(line).toMatchObject({ level: 50, queue: name, consumer: worker.consumer, err: { code: 'ERR_SLUICE_LEASE_LOST' } });
      expect(String((line?.err as { message?: string } | undefined)?.message)).toContain(job.id);
      expect(warnings.filter((warning) => warning.message.includes(name))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await worker.close();
      await queue.close();
    }
  });

  it('gives job.logger a default that writes warn and above, made on first use', async () => {
    const name = uniqueQueue('logged-default');
    const queue = new Queue(name, { connection: redis.connection });
    try {
      const job = await queue.add('plain', { password: SECRET });
      expect(job.logger.level).toBe('warn');
      expect(job.logger.bindings()).toEqual({ name: 'sluice', queue: name, jobId: job.id, jobName: 'plain', attempt: 1 });
      expect(job.logger).toBe(job.logger);
    } finally {
      await queue.close();
    }
  });
});

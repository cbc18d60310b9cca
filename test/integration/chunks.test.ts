import { describe, expect, it } from 'vitest';
import { Queue, UnrecoverableError, ValidationError, Worker, type ChunkProcessor, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

async function settled(queue: Queue, total: number): Promise<void> {
  await waitFor(
    `${total} jobs finished`,
    async () => {
      const counts = await queue.getCounts();
      return counts.completed + counts.failed === total && counts.active === 0;
    },
    20_000,
  );
}

describe('chunked handlers', () => {
  it('runs 1,000 jobs in chunks of at most 100, each result stored with its own job', async () => {
    const name = uniqueQueue('chunks');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'row', data: { n }, opts: { removeOnComplete: false } })));
    const sizes: number[] = [];
    const worker = new Worker<{ n: number }, number>(
      name,
      async (jobs) => {
        sizes.push(jobs.length);
        return jobs.map((job) => job.data.n * 2);
      },
      { connection: redis.connection, chunk: { size: 100, maxWaitMs: 50 } },
    );
    expect(worker.concurrency).toBe(100);
    await settled(queue, 1000);
    await worker.close();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    // The jobs were waiting when the worker started: chunks fill, save the claims' and the last one's edges.
    expect(sizes.length).toBeLessThan(30);
    const completed = await queue.getJobs('completed', 0, 999);
    expect(completed).toHaveLength(1000);
    for (const job of completed) expect(job.returnvalue).toBe(job.data.n * 2);
    await queue.close();
  }, 30_000);

  it('fails only the jobs whose place holds an Error; the others complete', async () => {
    const name = uniqueQueue('chunks-index');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 20 }, (_, n) => ({ name: 'row', data: { n }, opts: { attempts: 1 } })));
    const worker = new Worker<{ n: number }, string>(name, async (jobs) => jobs.map((job) => (job.data.n % 3 === 0 ? new Error(`row ${job.data.n} refused`) : `ok ${job.data.n}`)), {
      connection: redis.connection,
      chunk: { size: 10, maxWaitMs: 20 },
    });
    await settled(queue, 20);
    await worker.close();
    const failed = await queue.getJobs('failed');
    expect(failed.map((job) => job.data.n).sort((a, b) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18]);
    for (const job of failed) expect(job.failedReason).toBe(`row ${job.data.n} refused`);
    const completed = await queue.getJobs('completed');
    expect(completed).toHaveLength(13);
    for (const job of completed) expect(job.returnvalue).toBe(`ok ${job.data.n}`);
    await queue.close();
  });

  it('a throw fails every job of the chunk as one attempt each; they run again and complete', async () => {
    const name = uniqueQueue('chunks-throw');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 8 }, (_, n) => ({ name: 'row', data: { n }, opts: { attempts: 3, backoff: { type: 'fixed', delay: 0 } } })));
    let calls = 0;
    const processor: ChunkProcessor<{ n: number }, number> = async (jobs) => {
      calls++;
      if (jobs.some((job) => job.attemptsMade === 0)) throw new Error('the bulk insert failed');
      return jobs.map((job) => job.data.n);
    };
    const worker = new Worker(name, processor, { connection: redis.connection, chunk: { size: 8, maxWaitMs: 20 } });
    await settled(queue, 8);
    await worker.close();
    const completed = await queue.getJobs('completed');
    expect(completed).toHaveLength(8);
    for (const job of completed) expect(job.attemptsMade).toBe(2);
    expect(calls).toBeGreaterThanOrEqual(2);
    await queue.close();
  });

  it('UnrecoverableError fails the chunk for good, and a result array of the wrong length fails each job saying so', async () => {
    const name = uniqueQueue('chunks-wrong');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 4 }, (_, n) => ({ name: 'row', data: { n }, opts: { attempts: 5 } })));
    let call = 0;
    const worker = new Worker<{ n: number }, number>(
      name,
      async (_jobs) => {
        call++;
        if (call === 1) return [1];
        throw new UnrecoverableError('give up');
      },
      { connection: redis.connection, chunk: { size: 4, maxWaitMs: 20 } },
    );
    const retried: string[] = [];
    worker.on('retrying', (_job, error) => retried.push(error.message));
    await settled(queue, 4);
    await worker.close();
    const failed = await queue.getJobs('failed');
    expect(failed).toHaveLength(4);
    for (const job of failed) {
      expect(job.failedReason).toBe('give up');
      expect(job.stacktrace).toBeDefined();
    }
    // The first call's wrong answer cost each job one attempt.
    for (const job of failed) expect(job.attemptsMade).toBe(2);
    expect(retried).toEqual(Array(4).fill('the chunk processor returned 1 results for 4 jobs; it must return an array with one result (or Error) per job, in order'));
    await queue.close();
  });

  it("holds each job's lease while its chunk runs longer than stalledTimeout", async () => {
    const name = uniqueQueue('chunks-lease');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 6 }, (_, n) => ({ name: 'row', data: { n } })));
    const worker = new Worker<{ n: number }, number>(
      name,
      async (jobs) => {
        await new Promise((resolve) => setTimeout(resolve, 2500));
        return jobs.map((job) => job.data.n);
      },
      { connection: redis.connection, chunk: { size: 6, maxWaitMs: 20 }, stalledTimeout: 1000 },
    );
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    await settled(queue, 6);
    await worker.close();
    const completed = await queue.getJobs('completed');
    expect(completed).toHaveLength(6);
    for (const job of completed) expect([job.attemptsMade, job.stalledCounter]).toEqual([1, 0]);
    expect(errors).toEqual([]);
    await queue.close();
  }, 20_000);

  it('refuses a concurrency below the chunk size, a bad chunk option and a sandboxed file', () => {
    const options = { connection: redis.connection, autorun: false };
    const chunkOf = async (jobs: Job[]): Promise<unknown[]> => jobs.map(() => 1);
    expect(() => new Worker('q', chunkOf, { ...options, chunk: { size: 10 }, concurrency: 5 })).toThrow('must be at least chunk.size');
    expect(() => new Worker('q', chunkOf, { ...options, chunk: { size: 0 } })).toThrow(ValidationError);
    expect(() => new Worker('q', chunkOf, { ...options, chunk: { size: 2, maxWaitMs: -1 } })).toThrow(ValidationError);
    expect(() => new Worker('q', '/tmp/x.js' as never, { ...options, chunk: { size: 2 } })).toThrow('a sandboxed file takes one job at a time');
  });
});

// Types: a per-job processor cannot be given chunks, nor a chunk processor run without them.
export function typeChecks(): void {
  const connection = { url: 'redis://127.0.0.1:1' };
  // @ts-expect-error a per-job processor returns one result, not one per job
  new Worker('q', async (job: Job) => job.id, { connection, chunk: { size: 2 } });
  // @ts-expect-error a chunk processor needs the chunk option
  new Worker('q', async (jobs: Job[]) => jobs.map(() => 1), { connection });
}

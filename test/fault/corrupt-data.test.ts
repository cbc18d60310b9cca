import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker, type Job } from 'sluice';
import { encode } from '../../src/serializer.js';
import { runFixture } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * Bad data already in Redis costs one job, never the queue (issue 12, point 2). Each case writes a bad
 * value with raw Redis commands, as a hand edit or a buggy client would, between good jobs, then checks
 * that every good job runs exactly once, the counts stay exact, the stalled sweep still works, and the bad
 * job is failed for good with a reason that names what was wrong (or, where it is no job at all, dropped
 * with a warning).
 */
const redis = useRedis();
let client: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(() => {
  client = new Redis(redis.url);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
  await client.quit();
});

/** Writes an entry on `stream` with the next number of the queue's id counter, as add would; returns its job id. */
async function rawEntry(queue: Queue, stream: string, fields: (string | Buffer)[], seq = 0): Promise<string> {
  const number = await client.incr(queue.store.keys.id);
  await client.xadd(stream, `${number}-${seq}`, ...fields);
  return String(number);
}

const DATA = encode({ n: 0 }, 'job data', 1024);
/** A full entry as entry.lua writes one, with `overrides` (undefined drops a field). */
function fullEntry(id: string, overrides: Record<string, string | Buffer | undefined> = {}): (string | Buffer)[] {
  const fields: Record<string, string | Buffer | undefined> = {
    id, name: 'n', data: DATA, opts: '', ts: '1764600000000', prio: '1', grp: '', ats: '0', atm: '0', stalls: '0', ready: '1764600000000', ...overrides,
  };
  return Object.entries(fields).flatMap(([name, value]) => (value === undefined ? [] : [name, value]));
}

async function failedReason(queue: Queue, id: string): Promise<string | undefined> {
  const job = await queue.getJob(id);
  expect(job?.state).toBe('failed');
  return job?.failedReason;
}

describe('a stream entry that is not a job sluice wrote', () => {
  it('fails that job for good in a real worker process, runs every other job once, and the stalled sweep keeps working', async () => {
    const name = uniqueQueue('corrupt-entry');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    const good = (await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'n', data: { n: i }, opts: i === 0 ? { jobId: 'good-own-id' } : {} })))).map(
      (job) => job.id,
    );
    const level = queue.store.keys.wait[1]!;
    const bad = {
      freshMissingTs: await rawEntry(queue, level, ['name', 'n', 'data', DATA, 'opts', '']),
      freshExtra: await rawEntry(queue, level, ['name', 'n', 'data', DATA, 'opts', '', 'ts', '1', 'color', 'red']),
      freshTsWord: await rawEntry(queue, level, ['name', 'n', 'data', DATA, 'opts', '', 'ts', 'noon']),
      fullMissing: await rawEntry(queue, level, fullEntry('full-missing', { ats: undefined })),
      fullWord: await rawEntry(queue, level, fullEntry('full-word', { stalls: 'many' })),
      fullPrio: await rawEntry(queue, level, fullEntry('full-prio', { prio: '9' })),
      badOptions: await rawEntry(queue, level, ['name', 'n', 'data', DATA, 'opts', encode({ attempts: 'three' }, 'o', 100), 'ts', '1']),
      setData: await rawEntry(queue, level, ['name', 'n', 'data', Buffer.from('d473009101', 'hex'), 'opts', '', 'ts', '1']),
    };
    const stray = await rawEntry(queue, level, ['hello', 'world'], 1);
    good.push(...(await queue.addBulk([{ name: 'n', data: { n: 6 } }])).map((job) => job.id));

    const worker = runFixture('worker-process', { REDIS_URL: redis.url, QUEUE: name, CONCURRENCY: '4', STALLED_TIMEOUT: '1000', JOB_MS: '10' });
    await waitFor('the good jobs to complete and the bad ones to fail', async () => {
      const counts = await queue.getCounts();
      return counts.completed === good.length && counts.failed === 8;
    }, 20_000);
    const ids = (word: string) => worker.lines.filter((line) => line.startsWith(`${word} `)).map((line) => line.slice(word.length + 1));
    await waitFor('the worker to report every job it ran', () => ids('done').length >= good.length);
    expect(ids('start').sort()).toEqual([...good].sort());
    expect(ids('done').sort()).toEqual([...good].sort());

    // Full entries are failed under the id they name; fresh ones under their entry's number.
    expect(await failedReason(queue, bad.freshMissingTs)).toMatch(/field 'ts' is missing.*; the job was failed without running$/);
    expect(await failedReason(queue, bad.freshExtra)).toMatch(/it has a field 'color' no job has/);
    expect(await failedReason(queue, bad.freshTsWord)).toMatch(/field 'ts' is "noon", not a count/);
    expect(await failedReason(queue, 'full-missing')).toMatch(/field 'ats' is missing/);
    expect(await failedReason(queue, 'full-word')).toMatch(/field 'stalls' is "many", not a count/);
    expect(await failedReason(queue, 'full-prio')).toMatch(/field 'prio' is 9, above the level of the stream it is on \(1\)/);
    expect(await failedReason(queue, bad.badOptions)).toMatch(/options: 'attempts' is "three", not an integer >= 1/);
    expect(await failedReason(queue, bad.setData)).toMatch(/data is not plain data: .*\(a Set\)/);
    expect(worker.lines).toContain('error DecodeError');
    expect(worker.stderr).toContain(`stream entry ${stray}-1 holds no job`);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, active: 0, completed: good.length, failed: 8 });

    // The stalled sweep: a consumer that died holding a corrupt entry and a good job. The live worker's
    // sweep takes both back: the good job runs, the corrupt one is failed for good, the sweep goes on.
    // Paused meanwhile, so the live worker claims neither first; the dead consumer's read is claim's.
    await queue.pause();
    const afterSweep = await queue.add('n', { n: 7 });
    await rawEntry(queue, level, fullEntry('held-corrupt', { atm: '-' }));
    const read = (await client.xreadgroup('GROUP', 'sluice', 'dead-consumer', 'COUNT', 10, 'STREAMS', level, '>')) as [string, unknown[]][];
    expect(read[0]?.[1]).toHaveLength(2);
    await client.hincrby(queue.store.keys.meta, 'active', 2);
    await queue.resume();
    await waitFor('the sweep to take back both', async () => (await queue.getCounts()).completed === good.length + 1, 20_000);
    expect(await failedReason(queue, 'held-corrupt')).toMatch(/field 'atm' is "-", not a count/);
    // The count is Redis'; the worker's line about it may come a moment later.
    await waitFor('the worker to report the job it ran', () => ids('done').includes(afterSweep.id));
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, active: 0, completed: good.length + 1, failed: 9 });

    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await queue.close();
  }, 60_000);
});

describe('a job hash with a value that is not a count', () => {
  it('fails a corrupt delayed job when it comes due and a corrupt grouped job when its turn comes; claims go on', async () => {
    const name = uniqueQueue('corrupt-hash');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    await queue.pause();
    const delayed = await queue.add('n', { n: 1 }, { delay: 300 });
    const grouped = await queue.add('n', { n: 2 }, { group: 'acme' });
    const sibling = await queue.add('n', { n: 3 }, { group: 'acme' });
    const plain = await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'n', data: { n: 10 + i } })));
    await client.hset(queue.store.keys.job(delayed.id), 'prio', 'high');
    await client.hset(queue.store.keys.job(grouped.id), 'ats', 'x');
    const ran: number[] = [];
    const worker = new Worker<{ n: number }>(name, async (job) => void ran.push(job.data.n), { connection: redis.connection, concurrency: 4 });
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    await queue.resume();
    await waitFor('the good jobs to run and the two corrupt ones to fail', async () => {
      const counts = await queue.getCounts();
      return counts.completed === 6 && counts.failed === 2;
    });
    expect(ran.sort((a, b) => a - b)).toEqual([3, 10, 11, 12, 13, 14]);
    expect(await failedReason(queue, delayed.id)).toBe(`job '${delayed.id}' cannot be read: field 'prio' is "high", not a count; the job was failed without running`);
    expect(await failedReason(queue, grouped.id)).toBe(`job '${grouped.id}' cannot be read: field 'ats' is "x", not a count; the job was failed without running`);
    expect((await queue.getJob(sibling.id))?.state).toBe('completed');
    expect(plain.length).toBe(5);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 6, failed: 2 });
    expect(await queue.getGroup('acme')).toMatchObject({ waiting: 0, active: 0, state: 'idle' });
    // Rewritten as a valid failed job: it can be retried, and then it runs.
    await (await queue.getJob(delayed.id))?.retry();
    await waitFor('the retried job to run', () => ran.includes(1));
    expect(errors).toEqual([]);
    await worker.close();
    await queue.close();
  });
});

describe('stored options of the wrong types', () => {
  it('fail that job alone; the others of the same claimed batch complete', async () => {
    const name = uniqueQueue('corrupt-options');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection });
    const level = queue.store.keys.wait[1]!;
    const before = await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'n', data: { n: i } })));
    const bad = await rawEntry(queue, level, ['name', 'n', 'data', DATA, 'opts', encode({ backoff: 5, keepCompleted: 'all' }, 'o', 100), 'ts', '1']);
    const after = await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'n', data: { n: 10 + i } })));
    const ran: number[] = [];
    const worker = new Worker<{ n: number }>(name, async (job: Job<{ n: number }>) => void ran.push(job.data.n), {
      connection: redis.connection,
      concurrency: 10,
      stalledTimeout: 1000,
    });
    worker.on('error', () => undefined);
    await waitFor('six completions and one failure', async () => {
      const counts = await queue.getCounts();
      return counts.completed === 6 && counts.failed === 1;
    });
    expect(ran.sort((a, b) => a - b)).toEqual([0, 1, 2, 10, 11, 12]);
    expect(await failedReason(queue, bad)).toMatch(/options: 'backoff' is 5, not a backoff/);
    // None of the innocent jobs was taken back as stalled: each started once.
    for (const job of [...before, ...after]) expect((await queue.getJob(job.id))?.attemptsStarted).toBe(1);
    await worker.close();
    await queue.close();
  });
});

describe('an events-stream entry that cannot be read', () => {
  it('is reported and skipped: QueueEvents keeps delivering and closes cleanly, with or without an error listener', async () => {
    const name = uniqueQueue('corrupt-events');
    const queue = new Queue<{ n: number }, string>(name, { connection: redis.connection });
    const heard = new QueueEvents(name, { connection: redis.connection, blockMs: 200 });
    const silent = new QueueEvents(name, { connection: redis.connection, blockMs: 200 });
    const errors: Error[] = [];
    heard.on('error', (error) => errors.push(error));
    const completed: string[] = [];
    heard.on('completed', ({ jobId }) => completed.push(`heard ${jobId}`));
    silent.on('completed', ({ jobId }) => completed.push(`silent ${jobId}`));
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    await Promise.all([heard.waitUntilReady(), silent.waitUntilReady()]);
    // A completed event whose value is not msgpack, and a progress event that decodes to an Error.
    await client.xadd(queue.store.keys.events, '*', '', 'completed', 'ghost', Buffer.from([0xa5, 0x41]), '', 'progress', 'ghost', Buffer.from('d4650093a54572726f72a178d40000', 'hex'));
    const worker = new Worker<{ n: number }, string>(name, async () => 'ok', { connection: redis.connection });
    const job = await queue.add('n', { n: 1 });
    await waitFor('both readers to see the real completion', () => completed.includes(`heard ${job.id}`) && completed.includes(`silent ${job.id}`));
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(/^the completed event of job 'ghost' \(2 bytes\) is not valid msgpack/),
      expect.stringMatching(/^the progress event of job 'ghost' is not plain data/),
    ]);
    await waitFor('the warnings of the reader without a listener', () => warnings.filter((w) => w.includes("job 'ghost'")).length === 2);
    process.off('warning', onWarning);
    await worker.close();
    await heard.close();
    await silent.close();
    await queue.close();
  });
});

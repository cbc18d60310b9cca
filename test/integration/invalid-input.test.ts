import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigMismatchError, DecodeError, EncodeError, PayloadTooLargeError, Queue, ValidationError, Worker, type JobOptions } from 'sluice';
import { waitFor } from '../harness/wait.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';

const redis = useRedis();
let client: Redis;
beforeAll(() => {
  client = new Redis(redis.url);
});
afterAll(async () => {
  await client.quit();
});

/** Every key of the queue: what "nothing written" is checked against. */
async function keysOf(name: string): Promise<string[]> {
  return (await client.keys(`sluice:\\{${name}\\}:*`)).sort();
}

describe('bad input: a typed error, a message that says what to do, and nothing written', () => {
  it.each<[string, () => unknown, new (...args: never[]) => Error, string]>([
    ['options', () => ({ attempts: 0 }), ValidationError, 'attempts must be an integer from 1'],
    ['a priority out of range', () => ({ priority: 9 }), ValidationError, 'priority must be an integer from 0 to 2, got 9'],
    ['an unknown option', () => ({ delays: 5 }), ValidationError, "unknown job option 'delays'"],
  ])('refuses %s', async (_label, options, type, message) => {
    const name = uniqueQueue('bad');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.getCounts();
    const before = await keysOf(name);
    const attempt = queue.add('x', {}, options() as JobOptions);
    await expect(attempt).rejects.toBeInstanceOf(type);
    await expect(queue.add('x', {}, options() as JobOptions)).rejects.toThrow(message);
    expect(await keysOf(name)).toEqual(before);
    await queue.close();
  });

  it('refuses an oversized payload and data msgpack would change, writing nothing', async () => {
    const name = uniqueQueue('bad');
    const queue = new Queue(name, { connection: redis.connection, maxPayloadBytes: 1024 });
    await queue.getCounts();
    const before = await keysOf(name);
    await expect(queue.add('big', { blob: 'x'.repeat(5000) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(queue.add('fn', { callback: () => 1 })).rejects.toBeInstanceOf(EncodeError);
    await expect(queue.add('map', { m: new Map([[1, 2]]) })).rejects.toThrow('job data.m is a Map');
    await expect(queue.add('', {})).rejects.toThrow('job name must be a string of 1 to 256 characters');
    expect(await keysOf(name)).toEqual(before);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, delayed: 0 });
    await queue.close();
  });

  it('writes none of a bulk when one item is bad', async () => {
    const name = uniqueQueue('bad');
    const queue = new Queue(name, { connection: redis.connection });
    const bulk = [...Array.from({ length: 50 }, () => ({ name: 'ok', data: {} })), { name: 'bad', data: { f: Symbol('s') } }];
    await expect(queue.addBulk(bulk)).rejects.toThrow('job data.f is a symbol');
    expect(await keysOf(name)).toEqual([]);
    await queue.close();
  });

  it('refuses bad queue names and options at construction, before connecting', () => {
    expect(() => new Queue('a{b}', { connection: redis.connection })).toThrow(ValidationError);
    expect(() => new Queue('ok', { connection: redis.connection, priorityLevels: 0 })).toThrow('priorityLevels must be an integer from 1 to 32');
    expect(() => new Queue('ok', { connection: redis.connection, defaultJobOptions: { attempts: -2 } })).toThrow('attempts must be an integer');
    expect(() => new Worker('ok', async () => undefined, { connection: redis.connection, concurrency: 0 })).toThrow('concurrency must be an integer from 1');
    expect(() => new Worker('ok', async () => undefined, { connection: redis.connection, stalledTimeout: 1000, heartbeatInterval: 2000 })).toThrow(
      'heartbeatInterval (2000 ms) must be shorter than stalledTimeout (1000 ms)',
    );
  });

  it('refuses bad limits and groups with a message that says what to give instead', async () => {
    const name = uniqueQueue('bad-limits');
    const queue = new Queue(name, { connection: redis.connection });
    await expect(queue.setRateLimit({ max: 0, duration: 1000 })).rejects.toThrow('setRateLimit: max must be an integer >= 1, got 0');
    await expect(queue.setRateLimit({ max: 5, duration: 0.5 })).rejects.toThrow('setRateLimit: duration (ms) must be an integer >= 1');
    await expect(queue.setGroupLimit({ max: 5 })).rejects.toThrow('give max and duration together');
    await expect(queue.setGroupLimit({})).rejects.toThrow('give { max, duration }, { concurrency }, or all three');
    await expect(queue.setGroupLimit({ concurrency: 1, per: 3 } as never)).rejects.toThrow("unknown field 'per'");
    await expect(queue.setGroupLimit({ concurrency: 1 }, '')).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.add('x', {}, { group: '' })).rejects.toThrow('group must be a string of 1 to 256 characters');
    expect(() => new Queue(name, { connection: redis.connection, rateLimit: { max: -1, duration: 1 } })).toThrow(ValidationError);
    expect(await queue.getRateLimit()).toBeNull();
    expect((await queue.getGroupLimits()).size).toBe(0);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0 });
    await queue.close();
  });

  it('refuses to use a queue with a different number of priority levels than Redis recorded', async () => {
    const name = uniqueQueue('levels');
    const three = new Queue(name, { connection: redis.connection });
    await three.add('x', {});
    const five = new Queue(name, { connection: redis.connection, priorityLevels: 5 });
    await expect(five.add('x', {})).rejects.toBeInstanceOf(ConfigMismatchError);
    await expect(five.add('x', {})).rejects.toThrow('was created with priorityLevels 3 but this instance says 5');
    expect(await three.getCounts()).toMatchObject({ waiting: 1 });
    await five.close();
    await three.close();
  });

  it('refuses a queue written in an earlier storage format and changes nothing of it', async () => {
    // Format 1 (no `fmt`: every job in a hash) and format 2 (entry fields named n d o t ...).
    for (const format of [1, 2]) {
      const name = uniqueQueue(`format${format}`);
      await client.hset(`sluice:{${name}}:meta`, 'levels', '3', 'active', '0', ...(format === 1 ? [] : ['fmt', String(format)]));
      if (format === 1) await client.hset(`sluice:{${name}}:job:1`, 'name', 'x', 'state', 'waiting', 'entry', '1764600000000-0');
      else await client.xadd(`sluice:{${name}}:wait:1`, '1-0', 'n', 'x', 'd', '', 'o', '', 't', '1764600000000');
      const before = await keysOf(name);
      const queue = new Queue(name, { connection: redis.connection });
      await expect(queue.add('x', {})).rejects.toBeInstanceOf(ConfigMismatchError);
      await expect(queue.getCounts()).rejects.toThrow(`written in sluice's storage format ${format}, and this version reads format 3`);
      const worker = new Worker(name, async () => undefined, { connection: redis.connection });
      const errors: Error[] = [];
      worker.on('error', (error) => errors.push(error));
      await waitFor('the worker to refuse the queue', () => errors.some((error) => error instanceof ConfigMismatchError));
      await worker.close();
      expect(await keysOf(name)).toEqual(before);
      await queue.close();
    }
  });

  it('refuses queue names that are empty, too long or not plain text', () => {
    expect(() => new Queue('', { connection: redis.connection })).toThrow('queue name must be a non-empty string');
    expect(() => new Queue('q'.repeat(101), { connection: redis.connection })).toThrow('queue name is 101 bytes long; the limit is 100 bytes');
    expect(() => new Queue('a b', { connection: redis.connection })).toThrow(ValidationError);
    expect(() => new Queue(42 as never, { connection: redis.connection })).toThrow('got number');
  });

  it('fails a stored job whose data cannot be decoded, with the reason, and keeps running the others', async () => {
    const name = uniqueQueue('undecodable');
    const queue = new Queue<{ n: number }>(name, { connection: redis.connection, defaultJobOptions: { attempts: 3 } });
    const [first] = await queue.addBulk([{ name: 'n', data: { n: 1 } }]);
    // What another client, or a truncated write, could leave behind: the next job's entry (entry.lua's fresh
    // layout, copied from the first job's) with its data's string header cut short.
    const level = `sluice:{${name}}:wait:1`;
    const [[, fields] = ['', []]] = await client.xrangeBuffer(level, '-', '+');
    const number = await client.incr(`sluice:{${name}}:id`);
    await client.xadd(level, `${number}-0`, 'name', 'n', 'data', Buffer.from([0xa5, 0x41]), 'opts', fields[5] as Buffer, 'ts', fields[7] as Buffer);
    const broken = { id: String(number) };
    const [last] = await queue.addBulk([{ name: 'n', data: { n: 3 } }]);
    const ran: number[] = [];
    const errors: Error[] = [];
    const worker = new Worker<{ n: number }>(name, async (job) => void ran.push(job.data.n), { connection: redis.connection, concurrency: 3 });
    worker.on('error', (error) => errors.push(error));
    await waitFor('both good jobs to complete and the broken one to fail', async () => {
      const counts = await queue.getCounts();
      return counts.completed === 2 && counts.failed === 1;
    });
    expect(ran.sort()).toEqual([1, 3]);
    const failed = await queue.getJob(broken?.id ?? '');
    expect(failed?.state).toBe('failed');
    // Failed for good at once: bytes that cannot be read now never will be, so no attempt is spent on them.
    expect(failed?.failedReason).toMatch(/^job '\d+' data \(2 bytes\) is not valid msgpack: .*; the job was failed without running$/);
    expect(errors.some((error) => error instanceof DecodeError)).toBe(true);
    expect((await queue.getJob(first?.id ?? ''))?.state).toBe('completed');
    expect((await queue.getJob(last?.id ?? ''))?.state).toBe('completed');
    await worker.close();
    await queue.close();
  });

  it('chunks a huge addBulk under Lua argument limits and reports every job exactly, in order', async () => {
    const name = uniqueQueue('huge');
    const queue = new Queue<{ i: number }>(name, { connection: redis.connection });
    const total = 25_500;
    const jobs = await queue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'n', data: { i }, opts: { jobId: `j-${i}` } })));
    expect(jobs).toHaveLength(total);
    expect(jobs.map((job) => job.id)).toEqual(Array.from({ length: total }, (_, i) => `j-${i}`));
    expect(jobs.every((job, i) => job.data.i === i)).toBe(true);
    expect((await queue.getCounts()).waiting).toBe(total);
    // A retry of the same bulk is deduplicated job by job: nothing new, the same ids back.
    const again = await queue.addBulk(Array.from({ length: 1500 }, (_, i) => ({ name: 'n', data: { i: -1 }, opts: { jobId: `j-${i}` } })));
    expect(again.map((job) => job.id)).toEqual(jobs.slice(0, 1500).map((job) => job.id));
    expect(again[0]?.data.i).toBe(0);
    expect((await queue.getCounts()).waiting).toBe(total);
    await queue.obliterate({ force: true });
    await queue.close();
  }, 60_000);
});

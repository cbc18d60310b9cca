import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('events', () => {
  it('writes the events of one script call as one stream entry, and QueueEvents reads each of them', async () => {
    const name = uniqueQueue('events');
    const client = new Redis(redis.url);
    const queue = new Queue<{ i: number }, number>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    await events.waitUntilReady();
    const added: string[] = [];
    const completed = new Map<string, unknown>();
    events.on('added', ({ jobId }) => added.push(jobId));
    events.on('completed', ({ jobId, returnvalue }) => completed.set(jobId, returnvalue));
    const jobs = await queue.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'n', data: { i } })));
    expect(await client.xlen(`sluice:{${name}}:events`)).toBe(1);
    await waitFor('50 added events', () => added.length === 50);
    expect(added).toEqual(jobs.map((job) => job.id));

    const worker = new Worker<{ i: number }, number>(name, async (job) => job.data.i * 2, { connection: redis.connection, concurrency: 50 });
    await waitFor('50 completed events', () => completed.size === 50);
    expect(jobs.every((job) => completed.get(job.id) === job.data.i * 2)).toBe(true);
    await worker.close();
    await events.close();
    await queue.close();
    await client.quit();
  });

  it('keeps about eventsMaxLen events, however they are batched', async () => {
    const name = uniqueQueue('events-cap');
    const client = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection, eventsMaxLen: 100 });
    for (let i = 0; i < 10; i++) await queue.addBulk(Array.from({ length: 50 }, () => ({ name: 'n', data: {} })));
    // 50 events per entry, 100 events kept: 2 entries.
    expect(await client.xlen(`sluice:{${name}}:events`)).toBe(2);
    await queue.close();
    await client.quit();
  });

  it('writes no event at all with eventsMaxLen 0', async () => {
    const name = uniqueQueue('events-off');
    const client = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection, eventsMaxLen: 0 });
    await queue.addBulk(Array.from({ length: 5 }, () => ({ name: 'n', data: {} })));
    expect(await client.exists(`sluice:{${name}}:events`)).toBe(0);
    await queue.close();
    await client.quit();
  });
});

import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

describe('add -> process -> complete', () => {
  it('runs a job and stores its result, counts exact at every step', async () => {
    const name = uniqueQueue('life');
    const queue = new Queue<{ to: string }, string>(name, { connection: redis.connection });
    const events = new QueueEvents(name, { connection: redis.connection });
    const job = await queue.add('welcome', { to: 'ada@example.com' });
    expect(job.id).toBe('1');
    expect(job.state).toBe('waiting');
    expect(await queue.getCounts()).toEqual({ waiting: 1, active: 0, delayed: 0, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });

    const seen: string[] = [];
    const worker = new Worker<{ to: string }, string>(
      name,
      async (j) => {
        seen.push(`${j.name}:${j.data.to}:${j.attemptsMade}:${j.attemptsStarted}`);
        await j.updateProgress(50);
        await j.log('sent');
        return `sent to ${j.data.to}`;
      },
      { connection: redis.connection },
    );
    expect(await job.waitUntilFinished(events, 10_000)).toBe('sent to ada@example.com');
    expect(seen).toEqual(['welcome:ada@example.com:0:1']);
    await waitFor('counts to settle', async () => (await queue.getCounts()).completed === 1);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 0, paused: 0, limited: 0, blocked: 0 });

    const stored = await queue.getJob(job.id);
    expect(stored?.state).toBe('completed');
    expect(stored?.returnvalue).toBe('sent to ada@example.com');
    expect(stored?.progress).toBe(50);
    expect(stored?.attemptsMade).toBe(1);
    expect(stored?.finishedOn).toBeGreaterThanOrEqual(stored?.processedOn ?? Infinity);
    expect(await stored?.getLogs()).toEqual(['sent']);
    await worker.close();
    await events.close();
    await queue.close();
  });
});

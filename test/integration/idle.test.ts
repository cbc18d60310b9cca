import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';
import { callsSoFar } from '../harness/commandstats.js';

const redis = useRedis();

/** Total commands Redis has run so far, scripts' own commands included. */
const commandsSoFar = (client: Redis): Promise<number> => callsSoFar(client);

describe('an idle worker', () => {
  it('blocks on Redis instead of polling: a handful of commands over 1.5 s, and still wakes for an add', async () => {
    const name = uniqueQueue('idle');
    const client = new Redis(redis.url);
    const queue = new Queue(name, { connection: redis.connection });
    const ran: string[] = [];
    const worker = new Worker(name, async (job) => void ran.push(job.id), { connection: redis.connection, concurrency: 8 });
    try {
      // Started and blocked: a client of the worker waits in XREAD. (A fixed sleep here let a slow start-up,
      // on a loaded machine, fall into the window: 34 commands once.)
      await waitFor('the worker to block', async () => /\bflags=b\b.*\bcmd=xread\b/.test(String(await client.call('CLIENT', 'LIST'))));
      const before = await commandsSoFar(client);
      await sleep(1500);
      // The INFO and CLIENT LIST calls and this worker's first reaper sweep may fall in the window; polling
      // every few ms would be hundreds of calls.
      const idleCommands = (await commandsSoFar(client)) - before;
      expect(idleCommands).toBeLessThan(10);
      await queue.add('wake', {});
      await waitFor('the job', () => ran.length === 1);
    } finally {
      await worker.close();
      await queue.close();
      await client.quit();
    }
  });
});

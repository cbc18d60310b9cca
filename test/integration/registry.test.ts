import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Scheduler, Worker } from 'sluice';
import { registryKey } from '../../src/keys.js';
import { registeredQueues } from '../../src/redis/registry.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/** The queue registry: queues record themselves once, at init, so the dashboard can find them. */
const redis = useRedis();
let admin: Redis;

beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
});

const members = async (prefix = 'sluice'): Promise<string[]> => registeredQueues(admin, registryKey(prefix));

describe('the queue registry', () => {
  it('is a set per prefix, outside every hash tag', () => {
    expect(registryKey('sluice')).toBe('sluice:queues');
    expect(registryKey('app:jobs')).toBe('app:jobs:queues');
    expect(registryKey('sluice')).not.toContain('{');
    expect(() => registryKey('a{b')).toThrow('prefix must be a non-empty string');
  });

  it('records a queue at its first write, not at a read, and keeps it once', async () => {
    const name = uniqueQueue('reg-queue');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.getCounts();
    await queue.getJobs('waiting');
    expect(await members()).not.toContain(name);
    await queue.add('a', {});
    await queue.add('b', {});
    expect((await members()).filter((n) => n === name)).toEqual([name]);
    await queue.obliterate();
    await queue.close();
  });

  it('records a queue a Worker or a Scheduler initialises, with their prefix', async () => {
    const [byWorker, byScheduler] = [uniqueQueue('reg-worker'), uniqueQueue('reg-scheduler')];
    const worker = new Worker(byWorker, async () => undefined, { connection: redis.connection, prefix: 'regtest' });
    const scheduler = new Scheduler(byScheduler, { connection: redis.connection, prefix: 'regtest' });
    await waitFor('both registered', async () => {
      const names = await members('regtest');
      return names.includes(byWorker) && names.includes(byScheduler);
    });
    expect(await members()).not.toContain(byWorker);
    await worker.close();
    await scheduler.close();
    for (const name of [byWorker, byScheduler]) {
      const queue = new Queue(name, { connection: redis.connection, prefix: 'regtest' });
      await queue.obliterate();
      await queue.close();
    }
    expect(await members('regtest')).toEqual([]);
  });

  it('forgets a queue at obliterate, and records it again when it is used again', async () => {
    const name = uniqueQueue('reg-oblit');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.add('a', {});
    expect(await members()).toContain(name);
    await queue.obliterate();
    expect(await members()).not.toContain(name);
    await queue.add('b', {});
    expect(await members()).toContain(name);
    await queue.obliterate();
    await queue.close();
  });

  it('lets a user whose ACL covers only its queue keys work, unlisted', async () => {
    const name = uniqueQueue('reg-acl');
    const user = `reg-${name}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', `~sluice:{${name}}:*`, '+@all');
    const queue = new Queue(name, { connection: { url: redis.url.replace('redis://', `redis://${user}:pw@`) }, redisConfig: 'off' });
    await queue.add('a', {});
    expect(await queue.getCounts()).toMatchObject({ waiting: 1 });
    expect(await members()).not.toContain(name);
    await queue.obliterate();
    await queue.close();
    await admin.call('ACL', 'DELUSER', user);
  });
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, ReplicationError, ValidationError } from 'sluice';
import { spawnRedis, uniqueQueue, type SpawnedRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

let primary: SpawnedRedis;
let replica: SpawnedRedis;
let replicaClient: Redis;
beforeAll(async () => {
  primary = await spawnRedis(['--appendonly', 'yes']);
  replica = await spawnRedis(['--appendonly', 'yes', '--replicaof', '127.0.0.1', String(primary.port)]);
  replicaClient = new Redis(replica.url);
  await waitFor('the replica to sync', async () => (await replicaClient.info('replication')).includes('master_link_status:up'), 20_000);
});
afterAll(async () => {
  replica.signal('SIGCONT');
  await replicaClient.quit();
  await replica.stop();
  await primary.stop();
});

describe('durability: { replicas, timeoutMs } makes add() wait for replication (WAIT)', () => {
  it('resolves once the replica has the job', async () => {
    const name = uniqueQueue('durable');
    const queue = new Queue(name, { connection: { url: primary.url }, durability: { replicas: 1, timeoutMs: 2000 } });
    const job = await queue.add('pay', { amount: 10 });
    // No wait here: the replica must already hold the job, its stream entry, when add() resolves.
    const onReplica = async (id: string) => (await replicaClient.xrange(`sluice:{${name}}:wait:1`, `${id}-0`, `${id}-0`)).length;
    expect(await onReplica(job.id)).toBe(1);
    const bulk = await queue.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'pay', data: { amount: i } })));
    const last = bulk[bulk.length - 1];
    expect(await onReplica(last?.id ?? '')).toBe(1);
    await queue.close();
  });

  it('rejects with ReplicationError when no replica confirms in time; the job exists on the primary', async () => {
    const name = uniqueQueue('durable-frozen');
    const queue = new Queue(name, { connection: { url: primary.url }, durability: { replicas: 1, timeoutMs: 500 } });
    await queue.getCounts();
    replica.signal('SIGSTOP');
    try {
      const error: unknown = await queue.add('pay', { amount: 1 }, { jobId: 'frozen-1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReplicationError);
      expect((error as ReplicationError).acknowledged).toBe(0);
      expect((error as ReplicationError).message).toContain('the job exists and will run');
      expect((await queue.getJob('frozen-1'))?.state).toBe('waiting');
    } finally {
      replica.signal('SIGCONT');
    }
    await waitFor('the replica to catch up', async () => (await replicaClient.exists(`sluice:{${name}}:job:frozen-1`)) === 1, 10_000);
    await queue.close();
  });

  it('refuses a durability setting it cannot honour', () => {
    const connection = { url: primary.url, lazyConnect: true };
    expect(() => new Queue('q', { connection, durability: { replicas: 0, timeoutMs: 100 } })).toThrow(ValidationError);
    expect(() => new Queue('q', { connection, durability: { replicas: 1, timeoutMs: 6000 } })).toThrow(/shorter than commandTimeout \(5000 ms\)/);
    expect(() => new Queue('q', { connection, durability: 'yes' as never })).toThrow('durability takes { replicas, timeoutMs }');
  });
});

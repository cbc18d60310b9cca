import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { partitionOfGroup, partitionOfId } from '../../src/partitions/routing.js';
import { keySlot } from '../../src/redis/slot.js';
import { hasRedisCli, NO_REDIS_CLI, startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { uniqueQueue } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * Partitioned queues on a Redis Cluster of three masters (real redis-server processes, one cluster for the
 * file: starting it is the slow part): the partitions land on the three masters, and one logical queue
 * adds, routes, reads, pauses and processes across them. The harness cluster has no persistence, so the
 * Redis config check is off.
 */
const ready = hasRedisCli();
if (!ready) console.warn(`skipping the partitioned Redis Cluster tests: ${NO_REDIS_CLI}`);

describe.skipIf(!ready)('partitioned queues on a Redis Cluster (3 masters on loopback)', () => {
  let cluster: TestCluster;
  /** The test's own view of the cluster: slot owners, SCAN, CLUSTER KEYSLOT. */
  let admin: Cluster;
  let connection: { cluster: { host: string; port: number }[] };
  const options = (): { connection: { cluster: { host: string; port: number }[] }; partitions: number; redisConfig: 'off' } => ({
    connection,
    partitions: 3,
    redisConfig: 'off',
  });

  beforeAll(async () => {
    cluster = await startCluster();
    connection = { cluster: [...cluster.nodes] };
    admin = new Cluster([...cluster.nodes]);
    await admin.ping();
  }, 120_000);
  afterAll(async () => {
    await admin?.quit();
    await cluster?.stop();
  });

  it('puts 3 partitions on the 3 masters, whatever the name, and every key of each on its slot', async () => {
    for (let i = 0; i < 8; i++) {
      const queue = new Queue(uniqueQueue('placement'), options());
      const placed = await queue.getPartitions();
      expect(placed.map((p) => p.index)).toEqual([0, 1, 2]);
      expect(new Set(placed.map((p) => p.server)).size).toBe(3);
      for (const p of placed) {
        // Redis agrees on the slot, and the master the cluster names for it is the one reported.
        expect(Number(await admin.cluster('KEYSLOT', p.tag))).toBe(p.slot);
        expect(admin.slots[p.slot]?.[0]).toBe(p.server);
      }
      await queue.close();
    }
    const name = uniqueQueue('keys');
    const queue = new Queue(name, options());
    await queue.addBulk(Array.from({ length: 30 }, (_, n) => ({ name: 'x', data: { n }, opts: n % 2 === 0 ? { group: `g${n % 4}` } : {} })));
    const tags = (await queue.getPartitions()).map((p) => p.tag);
    for (const master of admin.nodes('master')) {
      const [, found] = await master.scan(0, 'MATCH', `sluice:{${name}*`, 'COUNT', 10_000);
      for (const key of found) {
        const slot = Number(await master.cluster('KEYSLOT', key));
        expect(tags.map((tag) => keySlot(`{${tag}}`))).toContain(slot);
        // The master that holds the key serves its slot.
        expect(admin.slots[slot]?.[0]).toBe(`${master.options.host}:${master.options.port}`);
      }
    }
    await queue.obliterate();
    await queue.close();
  });

  it('adds 3,000 jobs across the partitions and two workers complete each exactly once; counts are exact', async () => {
    const name = uniqueQueue('load');
    const queue = new Queue<{ n: number }, number>(name, options());
    const runs = new Map<number, number>();
    const perPartition = [0, 0, 0];
    const handler = async (job: { data: { n: number }; id: string }): Promise<number> => {
      runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1);
      perPartition[partitionOfId(job.id, 3)]! += 1;
      return job.data.n;
    };
    const workers = [0, 1].map(() => new Worker<{ n: number }, number>(name, handler, { ...options(), concurrency: 16 }));
    // Half in bulk, half as single adds in flight together (they share calls per partition).
    await queue.addBulk(Array.from({ length: 1500 }, (_, n) => ({ name: 'x', data: { n } })));
    await Promise.all(Array.from({ length: 1500 }, (_, i) => queue.add('x', { n: 1500 + i })));
    await waitFor('3,000 completed', async () => (await queue.getCounts()).completed === 3000, 60_000);
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, blocked: 0, completed: 3000, failed: 0, paused: 0, limited: 0 });
    expect(runs.size).toBe(3000);
    expect([...runs.values()].filter((times) => times !== 1)).toEqual([]);
    // Round-robin from a random start: each partition got a third.
    expect(perPartition).toEqual([1000, 1000, 1000]);
    expect((await queue.getMetrics()).completedTotal).toBe(3000);
    await Promise.all(workers.map((worker) => worker.close()));
    await queue.obliterate();
    await queue.close();
  }, 120_000);

  it('keeps a group in one partition, with its concurrency limit exact', async () => {
    const name = uniqueQueue('groups');
    const queue = new Queue<{ group: string }>(name, options());
    await queue.setGroupLimit({ concurrency: 1 });
    const running = new Map<string, number>();
    let overlap = 0;
    let done = 0;
    const worker = new Worker<{ group: string }>(
      name,
      async (job) => {
        const now = (running.get(job.data.group) ?? 0) + 1;
        running.set(job.data.group, now);
        if (now > 1) overlap++;
        await new Promise((resolve) => setTimeout(resolve, 3));
        running.set(job.data.group, now - 1);
        done++;
      },
      { ...options(), concurrency: 12 },
    );
    const groups = Array.from({ length: 6 }, (_, g) => `tenant-${g}`);
    const added = await queue.addBulk(Array.from({ length: 120 }, (_, n) => ({ name: 'x', data: { group: groups[n % 6]! }, opts: { group: groups[n % 6]! } })));
    for (const job of added) expect(partitionOfId(job.id, 3)).toBe(partitionOfGroup(job.group!, 3));
    await waitFor('120 done', () => done === 120, 60_000);
    expect(overlap).toBe(0);
    expect((await queue.getGroup('tenant-1')).waiting).toBe(0);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  }, 90_000);

  it("moves the queue-wide concurrency to a busy group's partition across the masters; running jobs never pass it", async () => {
    const name = uniqueQueue('shares');
    const queue = new Queue(name, options());
    await queue.setConcurrency(6);
    const group = 'tenant-busy';
    const busy = partitionOfGroup(group, 3);
    const metas = [0, 1, 2].map((p) => queueKeys(name, 'sluice', 3, { index: p, count: 3 }).meta);
    const shares = async (): Promise<number[]> =>
      Promise.all(metas.map(async (meta) => Number(((await admin.hget(meta, 'rlmax')) ?? '0 -1 0').split(' ')[2])));
    let running = 0;
    let most = 0;
    const handler = async (): Promise<void> => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
    };
    // Two Workers: one holds the turn and moves the shares, the other only asks for it.
    const workers = [0, 1].map(() => new Worker(name, handler, { ...options(), concurrency: 10, heartbeatInterval: 100 }));
    await queue.addBulk(Array.from({ length: 200 }, () => ({ name: 'x', data: {}, opts: { group } })));
    await waitFor('the busy partition past its even share', async () => ((await shares())[busy] ?? 0) > 2, 30_000);
    await waitFor('200 done', async () => (await queue.getCounts()).completed === 200, 60_000);
    expect(most).toBeLessThanOrEqual(6);
    expect(await queue.getConcurrency()).toBe(6);
    await waitFor('the shares adding up to 6', async () => (await shares()).reduce((a, b) => a + b, 0) === 6);
    expect(Math.min(...(await shares()))).toBeGreaterThanOrEqual(1);
    await Promise.all(workers.map((worker) => worker.close()));
    await queue.obliterate();
    await queue.close();
  }, 90_000);

  it('finds jobs by generated and given ids on their partitions, and pauses and resumes them all', async () => {
    const name = uniqueQueue('ids');
    const queue = new Queue<{ n: number }>(name, options());
    await queue.pause();
    const generated = await queue.addBulk(Array.from({ length: 9 }, (_, n) => ({ name: 'x', data: { n } })));
    const given = await queue.addBulk(Array.from({ length: 9 }, (_, n) => ({ name: 'x', data: { n: 100 + n }, opts: { jobId: `order-${n}` } })));
    expect(new Set(generated.map((job) => partitionOfId(job.id, 3))).size).toBe(3);
    expect(new Set(given.map((job) => partitionOfId(job.id, 3))).size).toBeGreaterThan(1);
    for (const job of [...generated, ...given]) {
      const found = await queue.getJob(job.id);
      expect(found?.data).toEqual(job.data);
      expect(found?.state).toBe('waiting');
      // It is where the rule says: on its partition's own keys.
      const keys = queueKeys(name, 'sluice', 3, { index: partitionOfId(job.id, 3), count: 3 });
      expect(Number(await admin.cluster('KEYSLOT', keys.meta))).toBe(keySlot(keys.meta));
    }
    let done = 0;
    const worker = new Worker(name, async () => void done++, { ...options(), concurrency: 4 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(done).toBe(0);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, paused: 18 });
    await queue.resume();
    await waitFor('18 done', () => done === 18, 30_000);
    expect(await queue.getCounts()).toMatchObject({ completed: 18, paused: 0, waiting: 0 });
    const page = await queue.getJobs('completed', 0, 17);
    expect(page).toHaveLength(18);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  }, 60_000);
});

import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { hasRedisCli, NO_REDIS_CLI, slotMoves, startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { uniqueQueue } from '../harness/redis.js';
import { commandCalls } from '../harness/commandstats.js';
import { waitFor } from '../harness/wait.js';

/**
 * Script calls go out with a frame sluice builds (src/redis/frame.ts), which ioredis must build again when
 * it sends the call a second time: to the new master after MOVED, to the importing one after ASK. A slot is
 * moved here by hand, as `redis-cli --cluster reshard` does it (test/fault/partitions-reshard.test.ts under load).
 */
const ready = hasRedisCli();
if (!ready) console.warn(`skipping the script resend tests: ${NO_REDIS_CLI}`);

describe.skipIf(!ready)('script calls sent again after MOVED and ASK (3 masters)', () => {
  let cluster: TestCluster;
  let admin: Cluster;
  let connection: { cluster: { host: string; port: number }[] };
  const { node, errorCount, openMigration, moveKeys, closeMigration, disconnect } = slotMoves(() => cluster.nodes.map((n) => n.port));

  /**
   * EVALSHA and EVAL calls on every master: a resend that went out garbled would be refused as an unknown
   * command, and the client would then run scripts by EVALSHA for good, hiding the garbling from the test.
   */
  const evalCalls = async (): Promise<number> => {
    let total = 0;
    for (const { port } of cluster.nodes) {
      const calls = await commandCalls(node(port));
      total += (calls.get('evalsha') ?? 0) + (calls.get('eval') ?? 0);
    }
    return total;
  };

  /** The queue's slot, the port of its master and of another master. */
  async function placeOf(name: string): Promise<{ slot: number; from: number; to: number }> {
    const slot = Number(await admin.cluster('KEYSLOT', queueKeys(name, 'sluice', 1).meta));
    const owner = admin.slots[slot]?.[0];
    if (owner === undefined) throw new Error(`no owner known for slot ${slot}`);
    const from = Number(owner.split(':')[1]);
    const to = cluster.nodes.map((n) => n.port).find((port) => port !== from) as number;
    return { slot, from, to };
  }

  beforeAll(async () => {
    cluster = await startCluster();
    connection = { cluster: [...cluster.nodes] };
    admin = new Cluster([...cluster.nodes]);
    await admin.ping();
  }, 120_000);
  afterAll(async () => {
    disconnect();
    await admin?.quit();
    await cluster?.stop();
  });

  it('sends an add and a binary-reply read again to the new master after MOVED', async () => {
    const name = uniqueQueue('moved');
    const queue = new Queue<{ n: number }>(name, { connection, redisConfig: 'off' });
    const evalsBefore = await evalCalls();
    try {
      const first = await queue.add('a', { n: 1 });
      const { slot, from, to } = await placeOf(name);
      await openMigration(slot, from, to);
      await moveKeys(slot, from, to);
      await node(to).call('FUNCTION', 'FLUSH');
      await closeMigration(slot, from, to);
      const movedBefore = await errorCount(from, 'MOVED');
      // The queue's Cluster still sends the slot to `from`, which answers MOVED.
      const second = await queue.add('b', { n: 2 });
      expect(await errorCount(from, 'MOVED')).toBeGreaterThan(movedBefore);
      expect((await queue.getJob(first.id))?.data).toEqual({ n: 1 });
      expect((await queue.getJob(second.id))?.data).toEqual({ n: 2 });
      expect(await queue.getCounts()).toMatchObject({ waiting: 2 });
      expect(await node(to).exists(queueKeys(name, 'sluice', 1).meta)).toBe(1);
      expect(await evalCalls()).toBe(evalsBefore);
    } finally {
      await queue.close();
    }
  });

  it('sends an add again after ASK, to the importing master, until the slot has moved', async () => {
    const name = uniqueQueue('asked');
    const queue = new Queue<{ n: number }>(name, { connection, redisConfig: 'off' });
    const evalsBefore = await evalCalls();
    try {
      await queue.getCounts();
      const { slot, from, to } = await placeOf(name);
      // None of the queue's keys exists yet, so its master answers every script call ASK.
      await openMigration(slot, from, to);
      const askedBefore = await errorCount(from, 'ASK');
      const refusedBefore = await errorCount(to, 'TRYAGAIN');
      const adding = queue.add('a', { n: 1 });
      await waitFor('the add to be answered ASK', async () => (await errorCount(from, 'ASK')) > askedBefore, 10_000);
      // Sent again with ASKING, the importing master parsed the call and refused it whole: the queue's guard key is not there.
      await waitFor('the add to reach the importing master', async () => (await errorCount(to, 'TRYAGAIN')) > refusedBefore, 10_000);
      await closeMigration(slot, from, to);
      const job = await adding;
      expect((await queue.getJob(job.id))?.data).toEqual({ n: 1 });
      expect(await node(to).exists(queueKeys(name, 'sluice', 1).meta)).toBe(1);
      expect(await node(from).call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
      expect(await evalCalls()).toBe(evalsBefore);
    } finally {
      await queue.close();
    }
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, RedisConfigError, Worker, type ConnectionOptions } from 'sluice';
import { createDashboard } from 'sluice/dashboard';
import { queueKeys, registryKey } from '../../src/keys.js';
import { connectBlocking, disconnectNow, quit } from '../../src/redis/connection.js';
import { BlockingReads } from '../../src/redis/blocking-reads.js';
import { hasRedisCli, NO_REDIS_CLI, startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { uniqueQueue } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

/**
 * The core cases through a Redis Cluster of three masters (no replicas): sluice's own Cluster connection
 * ({ cluster: nodes }) and a caller-owned ioredis Cluster instance. The harness cluster runs without
 * persistence, so the Redis config check is off except in the test that checks it.
 */
const ready = hasRedisCli();
if (!ready) console.warn(`skipping the Redis Cluster tests: ${NO_REDIS_CLI}`);

describe.skipIf(!ready)('Redis Cluster (3 masters on loopback)', () => {
  let cluster: TestCluster;
  /** The test's own view of the cluster: slot owners, SCAN, CLUSTER KEYSLOT. */
  let admin: Cluster;
  let connection: { cluster: { host: string; port: number }[] };

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

  /** `host:port` of the master serving the queue's slot (every key of the queue has the same one). */
  async function ownerOf(name: string): Promise<string> {
    const slot = Number(await admin.cluster('KEYSLOT', queueKeys(name, 'sluice', 1).meta));
    const owner = admin.slots[slot]?.[0];
    if (owner === undefined) throw new Error(`no owner known for slot ${slot}`);
    return owner;
  }

  /** Queue names, one per master: the names differ only in a random part, so which master serves one is luck. */
  async function namesOnEveryMaster(label: string): Promise<Map<string, string>> {
    const byOwner = new Map<string, string>();
    for (let tries = 0; byOwner.size < cluster.nodes.length && tries < 200; tries++) {
      const name = uniqueQueue(label);
      const owner = await ownerOf(name);
      if (!byOwner.has(owner)) byOwner.set(owner, name);
    }
    return byOwner;
  }

  it('adds and processes jobs on queues whose slots live on different masters', async () => {
    const byOwner = await namesOnEveryMaster('spread');
    expect(byOwner.size).toBe(3);
    const opened: { queue: Queue<{ n: number }, number>; worker: Worker<{ n: number }, number> }[] = [];
    for (const name of byOwner.values()) {
      const queue = new Queue<{ n: number }, number>(name, { connection, redisConfig: 'off' });
      const worker = new Worker<{ n: number }, number>(name, async (job) => job.data.n * 2, { connection, redisConfig: 'off', concurrency: 4 });
      opened.push({ queue, worker });
      await queue.addBulk(Array.from({ length: 50 }, (_, n) => ({ name: 'double', data: { n } })));
    }
    for (const { queue } of opened) {
      await waitFor(`queue ${queue.name} to finish`, async () => (await queue.getCounts()).completed === 50, 20_000);
      expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 50, failed: 0, paused: 0, limited: 0, blocked: 0 });
      const done = await queue.getJobs('completed', 0, 49);
      expect(done.map((job) => job.returnvalue).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 50 }, (_, n) => n * 2));
    }
    for (const { queue, worker } of opened) {
      await worker.close();
      await queue.close();
    }
  });

  it('retries with backoff, then succeeds; a caller-owned Cluster instance stays open', async () => {
    const name = uniqueQueue('retry');
    const own = new Cluster([...cluster.nodes]);
    const options = { connection: own as ConnectionOptions, redisConfig: 'off' as const };
    const queue = new Queue<unknown, string>(name, options);
    const retries: number[] = [];
    const worker = new Worker<unknown, string>(
      name,
      async (job) => {
        if (job.attemptsMade < 2) throw new Error(`attempt ${job.attemptsMade + 1} fails`);
        return 'third time';
      },
      options,
    );
    worker.on('retrying', (_job, _error, delay) => retries.push(delay));
    const job = await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    await waitFor('the job to complete', async () => (await queue.getJob(job.id))?.state === 'completed');
    const done = await queue.getJob(job.id);
    expect(done?.returnvalue).toBe('third time');
    expect(done?.attemptsMade).toBe(3);
    expect(retries).toEqual([100, 100]);
    await worker.close();
    await queue.close();
    // Not sluice's to close: it still answers.
    expect(await own.ping()).toBe('PONG');
    await own.quit();
  });

  it('runs a delayed job after its delay, not before', async () => {
    const name = uniqueQueue('delayed');
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    const worker = new Worker(name, async () => 'late', { connection, redisConfig: 'off' });
    // 2 s: long enough that the read below comes before it is due, even on a loaded machine (400 ms was not).
    const job = await queue.add('later', {}, { delay: 2000 });
    expect((await queue.getJob(job.id))?.state).toBe('delayed');
    await waitFor('the delayed job to complete', async () => (await queue.getJob(job.id))?.state === 'completed');
    const done = await queue.getJob(job.id);
    // Both on Redis' clock (the master of the queue's slot).
    expect((done?.processedOn ?? 0) - (done?.timestamp ?? 0)).toBeGreaterThanOrEqual(2000);
    await worker.close();
    await queue.close();
  });

  it('runs higher priorities first', async () => {
    const name = uniqueQueue('prio');
    const queue = new Queue<{ label: string }>(name, { connection, redisConfig: 'off', priorityLevels: 3 });
    await queue.addBulk([
      { name: 'j', data: { label: 'low' }, opts: { priority: 2 } },
      { name: 'j', data: { label: 'mid' }, opts: { priority: 1 } },
      { name: 'j', data: { label: 'high' }, opts: { priority: 0 } },
    ]);
    const order: string[] = [];
    const worker = new Worker<{ label: string }>(name, async (job) => void order.push(job.data.label), {
      connection,
      redisConfig: 'off',
      priorityLevels: 3,
      prefetch: 1,
    });
    await waitFor('all three', () => order.length === 3);
    expect(order).toEqual(['high', 'mid', 'low']);
    await worker.close();
    await queue.close();
  });

  it('QueueEvents sees completed, and getCounts is exact', async () => {
    const name = uniqueQueue('events');
    const queue = new Queue<{ n: number }, number>(name, { connection, redisConfig: 'off' });
    const events = new QueueEvents(name, { connection });
    const completed = new Map<string, unknown>();
    events.on('completed', ({ jobId, returnvalue }) => completed.set(jobId, returnvalue));
    await events.waitUntilReady();
    await queue.addBulk(Array.from({ length: 5 }, (_, n) => ({ name: 'now', data: { n } })));
    await queue.add('later', { n: 99 }, { delay: 60_000 });
    const failing = await queue.add('broken', { n: -1 }, { attempts: 1 });
    expect(await queue.getCounts()).toEqual({ waiting: 6, active: 0, delayed: 1, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });
    const worker = new Worker<{ n: number }, number>(
      name,
      async (job) => {
        if (job.data.n < 0) throw new Error('negative');
        return job.data.n + 1;
      },
      { connection, redisConfig: 'off' },
    );
    await waitFor('five completed events', () => completed.size === 5);
    expect([...completed.values()].sort()).toEqual([1, 2, 3, 4, 5]);
    await waitFor('the failure', async () => (await queue.getJob(failing.id))?.state === 'failed');
    expect(await queue.getCounts()).toEqual({ waiting: 0, active: 0, delayed: 1, completed: 5, failed: 1, paused: 0, limited: 0, blocked: 0 });
    await worker.close();
    await events.close();
    await queue.close();
  });

  // Flows across queues (two slots) on a Cluster: test/fault/flows-cluster.test.ts.
  it('runs a flow within one queue', async () => {
    const name = uniqueQueue('flow');
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    const seen: Record<string, unknown> = {};
    const worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'd') Object.assign(seen, await job.getDependencies());
        if (job.name === 'c') throw new Error('c failed');
        return job.name;
      },
      { connection, redisConfig: 'off' },
    );
    const { jobs, onFailure } = await queue.addFlow({
      jobs: [
        { key: 'b', name: 'b', data: 1 },
        { key: 'c', name: 'c', data: 2, opts: { attempts: 1 } },
        { key: 'd', name: 'd', data: 3, dependsOn: ['b', 'c'], opts: { onDependencyFailure: 'ignore' } },
      ],
      onFailure: { name: 'on-failure', data: 0 },
    });
    await waitFor('d and the onFailure job to complete', async () => (await queue.getCounts()).completed === 3);
    expect(seen).toMatchObject({ b: { state: 'completed', returnvalue: 'b' }, c: { state: 'failed', failedReason: 'c failed' } });
    expect((await queue.getJob(onFailure!.id))?.state).toBe('completed');
    expect((await queue.getJob(jobs.d!.id))?.state).toBe('completed');
    await worker.close();
    await queue.close();
  });

  it('holds a group to its concurrency limit', async () => {
    const name = uniqueQueue('group');
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    await queue.setGroupLimit({ concurrency: 1 }, 'tenant-a');
    let running = 0;
    let most = 0;
    const worker = new Worker(
      name,
      async (job) => {
        running++;
        most = Math.max(most, running);
        await sleep(job.group === 'tenant-a' ? 30 : 1);
        running--;
      },
      { connection, redisConfig: 'off', concurrency: 4 },
    );
    await queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'g', data: {}, opts: { group: 'tenant-a' } })));
    await waitFor('the group to drain', async () => (await queue.getCounts()).completed === 6);
    // Four worker slots, one group limited to one: a second job of it never ran beside the first.
    expect(most).toBe(1);
    expect(await queue.getGroup('tenant-a')).toEqual({ waiting: 0, active: 0, state: 'idle' });
    await worker.close();
    await queue.close();
  });

  it('pauses and resumes; the resume wakes a worker blocked on the node of the queue', async () => {
    const name = uniqueQueue('pause');
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    const ran: string[] = [];
    // blockTimeout far beyond the test: only the resume signal (an XADD on ctl) can wake the worker in time.
    const worker = new Worker(name, async (job) => void ran.push(job.id), { connection, redisConfig: 'off', blockTimeout: 60_000 });
    await queue.pause();
    await queue.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    await sleep(300);
    expect(ran).toEqual([]);
    expect(await queue.getCounts()).toMatchObject({ waiting: 0, paused: 2 });
    await queue.resume();
    await waitFor('both jobs', () => ran.length === 2);
    await worker.close();
    await queue.close();
  });

  it('ends a blocked read early with CLIENT UNBLOCK on the node that serves the queue, on every master', async () => {
    for (const name of (await namesOnEveryMaster('unblock')).values()) {
      const keys = queueKeys(name, 'sluice', 1);
      const commands = new Cluster([...cluster.nodes]);
      const blocking = connectBlocking(connection);
      const reads = new BlockingReads(blocking, commands, keys);
      await blocking.ping();
      const blocked = await reads.connectionId();
      expect(blocked).toBeDefined();
      if (blocked === undefined) continue;
      expect(reads.stillBlocksOn(blocked)).toBe(true);
      // 30 s: far beyond the waitFor below, so only the unblock can end it in time.
      let ended = false;
      const read = reads.waitForWork([keys.ctl], ['$'], 30_000).then(() => (ended = true));
      await sleep(100);
      expect(ended).toBe(false);
      await reads.unblock(blocked);
      await waitFor('the unblocked read to return', () => ended, 5000);
      await read;
      disconnectNow(blocking);
      await quit(commands);
    }
  });

  /** CLIENT UNBLOCK calls the master serving the queue has answered so far (INFO commandstats). */
  async function unblocksOn(name: string): Promise<number> {
    const owner = await ownerOf(name);
    const node = admin.nodes('master').find((candidate) => `${String(candidate.options.host)}:${String(candidate.options.port)}` === owner);
    const stats = await node?.info('commandstats');
    return Number(/cmdstat_client\|unblock:calls=(\d+)/.exec(stats ?? '')?.[1] ?? 0);
  }

  it("a delayed job's worker ends its own blocked read on the queue's master when the job is due", async () => {
    const name = uniqueQueue('wake');
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    const worker = new Worker(name, async () => 'woke', { connection, redisConfig: 'off', blockTimeout: 60_000 });
    await waitFor('the worker to start', async () => (await queue.getCounts()).waiting === 0);
    await sleep(200);
    const before = await unblocksOn(name);
    const job = await queue.add('soon', {}, { delay: 300 });
    await waitFor('the delayed job', async () => (await queue.getJob(job.id))?.state === 'completed');
    // The job would also run without it (the read's own timeout ends 1 s later): what shows the local
    // timer's wake-up reached the node the worker blocks on is that node counting the CLIENT UNBLOCK.
    expect(await unblocksOn(name)).toBeGreaterThan(before);
    await worker.close();
    await queue.close();
  });

  it('obliterate deletes every key of the queue on its master', async () => {
    const name = uniqueQueue('oblit');
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    const worker = new Worker(name, async () => 1, { connection, redisConfig: 'off' });
    await queue.addBulk(Array.from({ length: 10 }, () => ({ name: 'x', data: {} })));
    await queue.add('later', {}, { delay: 60_000 });
    await waitFor('ten done', async () => (await queue.getCounts()).completed === 10);
    await worker.close();
    expect((await keysOf(name)).length).toBeGreaterThan(5);
    await queue.obliterate();
    expect(await keysOf(name)).toEqual([]);
    await queue.close();
  });

  it("checks every master's config: 'error' names each master that can lose jobs", async () => {
    const queue = new Queue(uniqueQueue('config'), { connection, redisConfig: 'error' });
    const refused = await queue.add('x', {}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(RedisConfigError);
    for (const node of cluster.nodes) expect((refused as Error).message).toContain(`master ${node.host}:${node.port}`);
    await queue.close();
  });

  /** Every key of the queue on every master, found by SCAN (not KEYS: a cluster node serves SCAN per node). */
  async function keysOf(name: string): Promise<{ key: string; node: string }[]> {
    const pattern = `${queueKeys(name, 'sluice', 1).base.replace(/[{}[\]*?\\]/g, '\\$&')}*`;
    const found: { key: string; node: string }[] = [];
    for (const node of admin.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) found.push({ key, node: `${String(node.options.host)}:${String(node.options.port)}` });
      } while (cursor !== '0');
    }
    return found;
  }

  it('records queues on every master in the one registry key, which the dashboard lists and reads', async () => {
    const names = [...(await namesOnEveryMaster('registry')).values()];
    expect(names).toHaveLength(cluster.nodes.length);
    const queues = names.map((name) => new Queue(name, { connection, redisConfig: 'off' }));
    for (const queue of queues) await queue.add('a', {});
    expect(await admin.smembers(registryKey('sluice'))).toEqual(expect.arrayContaining(names));
    const dashboard = createDashboard({ connection });
    const server = createServer(dashboard);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const overview = (await (await fetch(`http://127.0.0.1:${port}/api/overview`)).json()) as { cells: Record<string, string> };
      for (const name of names) expect(overview.cells[`q:${name}:waiting`]).toBe('1');
    } finally {
      server.close();
      await dashboard.close();
    }
    for (const queue of queues) {
      await queue.obliterate();
      await queue.close();
    }
    expect(await admin.smembers(registryKey('sluice'))).not.toEqual(expect.arrayContaining([names[0]]));
  });

  it("keeps every key of a queue in the slot of its hash tag, on that slot's master", async () => {
    const name = uniqueQueue('slot');
    const keys = queueKeys(name, 'sluice', 3);
    const queue = new Queue(name, { connection, redisConfig: 'off' });
    await queue.setGroupLimit({ concurrency: 1 }, 'g');
    const worker = new Worker(
      name,
      async (job, ctx) => {
        await job.log('a line');
        if (job.name === 'fail') throw new Error('no');
        if (job.name === 'limited') ctx.rateLimit(60_000);
        return 1;
      },
      { connection, redisConfig: 'off' },
    );
    let released = 0;
    worker.on('rateLimited', () => released++);
    await queue.addBulk([
      { name: 'ok', data: {} },
      { name: 'fail', data: {}, opts: { attempts: 1 } },
      { name: 'grouped', data: {}, opts: { group: 'g' } },
    ]);
    await queue.add('later', {}, { delay: 60_000 });
    await waitFor('three settled', async () => {
      const counts = await queue.getCounts();
      return counts.completed + counts.failed === 3;
    });
    // A RateLimitError gives it back into its level's front (a key the scripts build from the queue's base).
    await queue.add('limited', {});
    await waitFor('the release', () => released === 1);
    await worker.close();
    // A group waiting (held by a full group is not needed): a paused queue keeps grouped jobs in their group.
    await queue.pause();
    await queue.add('waits', {}, { group: 'g2' });

    const found = await keysOf(name);
    const owner = await ownerOf(name);
    const slot = Number(await admin.cluster('KEYSLOT', `{${name}}`));
    for (const { key, node } of found) {
      expect(Number(await admin.cluster('KEYSLOT', key)), key).toBe(slot);
      expect(node, key).toBe(owner);
    }
    const names = new Set(found.map(({ key }) => key));
    // So the check above cannot pass on too few keys: the kinds every queue has are among them.
    for (const key of [keys.meta, keys.id, keys.delayed, keys.completed, keys.done, keys.failed, keys.events, keys.ctl, ...keys.wait, keys.groups[5]]) {
      expect(names, key).toContain(key);
    }
    // Hashes of the failed, the delayed, the released and the grouped waiting job; the completed two are in keys.done.
    expect([...names].filter((key) => key.startsWith(`${keys.base}job:`)).length).toBe(4);
    expect(names).toContain(keys.front(1));
    expect([...names].some((key) => key.startsWith(`${keys.base}logs:`))).toBe(true);
    expect(names).toContain(keys.groupWait('g2'));
    await queue.obliterate();
    await queue.close();
  });

  it('closes Workers at any moment after they were made, while their Cluster connections are still coming up', async () => {
    // Before src/redis/connection.ts's untilDropped, a close 20 ms in could wait for good: the blocking
    // Cluster was reconnecting, queued the worker's read, and its disconnect never answered it.
    for (const delay of [0, 1, 5, 10, 20, 30, 50, 100]) {
      const workers = ['a', 'b', 'c'].map(
        (label) => new Worker(uniqueQueue(`close-${label}`), async () => 1, { connection, redisConfig: 'off', stalledInterval: 200 }),
      );
      await sleep(delay);
      const closed = Promise.all(workers.map((worker) => worker.close())).then(() => 'closed');
      const timedOut = sleep(10_000).then(() => 'timed out');
      expect(`${delay} ms: ${await Promise.race([closed, timedOut])}`).toBe(`${delay} ms: closed`);
    }
  }, 120_000);
});

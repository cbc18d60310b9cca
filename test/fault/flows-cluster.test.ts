import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { runFixture, type Child } from '../harness/child.js';
import { hasRedisCli, NO_REDIS_CLI, startCluster, type TestCluster } from '../harness/redis-cluster.js';
import { uniqueQueue } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * Flows across queues on a Redis Cluster of three masters, each queue's slot on another master: the parts of
 * a flow written one per slot, ends passed across by notes in outboxes and a relay (src/flows-relay.ts),
 * applied once however often they are delivered. Workers run in this process, and, where they are killed,
 * in child processes (test/fixtures/flow-cluster-worker.ts). The harness cluster has no persistence, so the
 * Redis config check is off.
 */
const ready = hasRedisCli();
if (!ready) console.warn(`skipping the flows-across-slots Redis Cluster tests: ${NO_REDIS_CLI}`);

type Nodes = { host: string; port: number }[];

describe.skipIf(!ready)('flows across queues on a Redis Cluster (3 masters on loopback)', () => {
  let cluster: TestCluster;
  /** The test's own view of the cluster: slot owners, CLUSTER KEYSLOT. */
  let admin: Cluster;
  let connection: { cluster: Nodes };

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

  /** `host:port` of the master serving the slot of `key`. */
  async function ownerOfKey(key: string): Promise<string> {
    const slot = Number(await admin.cluster('KEYSLOT', key));
    const owner = admin.slots[slot]?.[0];
    if (owner === undefined) throw new Error(`no owner known for slot ${slot}`);
    return owner;
  }

  /** Three queue names whose slots are on three different masters (the names differ in a random part). */
  async function threeMasters(label: string): Promise<[string, string, string]> {
    const byOwner = new Map<string, string>();
    for (let tries = 0; byOwner.size < 3 && tries < 200; tries++) {
      const name = uniqueQueue(label);
      const owner = await ownerOfKey(queueKeys(name, 'sluice', 1).meta);
      if (!byOwner.has(owner)) byOwner.set(owner, name);
    }
    const names = [...byOwner.values()];
    expect(names).toHaveLength(3);
    return names as [string, string, string];
  }

  /** How many events of `type` each job of queue `name` has in its events stream. */
  async function events(name: string, type: string): Promise<Map<string, number>> {
    const counted = new Map<string, number>();
    for (const [, fields] of await admin.xrange(queueKeys(name, 'sluice', 1).events, '-', '+')) {
      let kind = '';
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === '') kind = fields[i + 1] as string;
        else if (kind === type) counted.set(fields[i] as string, (counted.get(fields[i] as string) ?? 0) + 1);
      }
    }
    return counted;
  }

  /** Nothing of the flows is left in any of the queues: no outbox note, no waiting part, no link. */
  async function expectNothingLeft(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const keys = queueKeys(name, 'sluice', 1);
      expect([name, await admin.xlen(keys.outbox), await admin.zcard(keys.flows), await admin.hget(keys.meta, 'linked') ?? '0']).toEqual([name, 0, 0, '0']);
    }
  }

  it("A (q1) -> B (q2) -> C (q3, then q1): C runs once, after B, and reads B's result; each queue's keys, its outbox included, on its own master", async () => {
    const names = await threeMasters('xflow');
    const [q1, q2, q3] = names;
    // Each queue's keys, its outbox and its flows' parts with them, are on its own master.
    const owners = await Promise.all(names.map((name) => ownerOfKey(queueKeys(name, 'sluice', 1).meta)));
    expect(new Set(owners).size).toBe(3);
    for (const [n, name] of names.entries()) {
      const keys = queueKeys(name, 'sluice', 1);
      expect(await Promise.all([keys.outbox, keys.flows, keys.flow('x')].map(ownerOfKey))).toEqual([owners[n], owners[n], owners[n]]);
    }
    const ran: { queue: string; job: Job; at: number; deps: Record<string, unknown> }[] = [];
    const workers = names.map(
      (name) =>
        new Worker(
          name,
          async (job) => {
            ran.push({ queue: name, job, at: Date.now(), deps: await job.getDependencies() });
            return `${job.name} in ${name}`;
          },
          { connection, redisConfig: 'off', concurrency: 4 },
        ),
    );
    // The queues exist once their workers made them.
    const queue = new Queue(q1, { connection, redisConfig: 'off' });
    await waitFor('the three queues', async () => (await Promise.all(names.map((name) => queue.store.levelsOf(name)))).every((levels) => levels !== null));
    let lastB = '';
    for (const last of [q3, q1]) {
      ran.length = 0;
      const { jobs } = await queue.addFlow({
        jobs: [
          { key: 'A', name: 'a', data: 1 },
          { key: 'B', name: 'b', data: 2, queue: q2, dependsOn: ['A'] },
          { key: 'C', name: 'c', data: 3, queue: last, dependsOn: ['B'] },
        ],
      });
      expect([jobs.A?.queueName, jobs.B?.queueName, jobs.C?.queueName, jobs.B?.state, jobs.C?.state]).toEqual([q1, q2, last, 'blocked', 'blocked']);
      await waitFor('C to complete', () => ran.some((r) => r.job.name === 'c'));
      const c = ran.filter((r) => r.job.name === 'c');
      expect(c).toHaveLength(1);
      expect(c[0]?.deps).toEqual({ B: { id: jobs.B?.id, queue: q2, state: 'completed', returnvalue: `b in ${q2}` } });
      const b = ran.find((r) => r.job.name === 'b');
      expect(b?.deps).toEqual({ A: { id: jobs.A?.id, queue: q1, state: 'completed', returnvalue: `a in ${q1}` } });
      const lastQueue = new Queue(last, { connection, redisConfig: 'off' });
      const q2Queue = new Queue(q2, { connection, redisConfig: 'off' });
      await waitFor('C completed', async () => (await lastQueue.getJob(jobs.C!.id))?.state === 'completed');
      const bDone = await q2Queue.getJob(jobs.B!.id);
      expect((await lastQueue.getJob(jobs.C!.id))?.processedOn).toBeGreaterThanOrEqual(bDone?.finishedOn ?? Infinity);
      await q2Queue.close();
      // Made waiting once each, by the note of their dependency's end.
      expect((await events(q2, 'waiting')).get(jobs.B!.id)).toBe(1);
      expect((await events(last, 'waiting')).get(jobs.C!.id)).toBe(1);
      await lastQueue.close();
      lastB = jobs.B!.id;
    }
    // add() with dependsOn an existing job of another queue (here ended already: its end comes by a note).
    ran.length = 0;
    const q3Queue = new Queue(q3, { connection, redisConfig: 'off' });
    const late = await q3Queue.add('late', 5, { dependsOn: [{ queue: q2, id: lastB }] });
    expect(late.state).toBe('blocked');
    await waitFor('the late job to run', () => ran.some((r) => r.job.id === late.id && r.queue === q3));
    expect(ran.find((r) => r.job.id === late.id)?.deps).toEqual({ [lastB]: { id: lastB, queue: q2, state: 'completed', returnvalue: `b in ${q2}` } });
    await q3Queue.close();
    await waitFor('the outboxes to empty', async () => (await Promise.all(names.map((name) => admin.xlen(queueKeys(name, 'sluice', 1).outbox)))).every((n) => n === 0));
    await expectNothingLeft(names);
    await Promise.all(workers.map((worker) => worker.close()));
    await queue.close();
  });

  it('a dependency that fails fails its dependents across queues (the default policy), and the onFailure job runs once', async () => {
    const names = await threeMasters('xfail');
    const [q1, q2, q3] = names;
    const started = new Map<string, number>();
    const workers = names.map(
      (name) =>
        new Worker(
          name,
          async (job) => {
            started.set(`${name}/${job.id}`, (started.get(`${name}/${job.id}`) ?? 0) + 1);
            if (job.name === 'a') throw new Error('A broke');
            return job.name;
          },
          { connection, redisConfig: 'off' },
        ),
    );
    const queue = new Queue(q2, { connection, redisConfig: 'off' });
    await waitFor('the three queues', async () => (await Promise.all(names.map((name) => queue.store.levelsOf(name)))).every((levels) => levels !== null));
    const { jobs, onFailure } = await queue.addFlow({
      jobs: [
        { key: 'A', name: 'a', data: 1, queue: q1, opts: { attempts: 1 } },
        { key: 'B', name: 'b', data: 2, dependsOn: ['A'] },
        { key: 'C', name: 'c', data: 3, queue: q3, dependsOn: ['B'] },
        { key: 'D', name: 'd', data: 4, queue: q3 },
      ],
      onFailure: { name: 'on-failure', data: 0 },
    });
    const q3Queue = new Queue(q3, { connection, redisConfig: 'off' });
    await waitFor('C to fail', async () => (await q3Queue.getJob(jobs.C!.id))?.state === 'failed');
    expect((await queue.getJob(jobs.B!.id))?.failedReason).toBe(`dependency 'A' (job ${jobs.A!.id} of queue '${q1}') failed: A broke`);
    expect((await q3Queue.getJob(jobs.C!.id))?.failedReason).toContain(`dependency 'B' (job ${jobs.B!.id} of queue '${q2}') failed`);
    await waitFor('the onFailure job and D to complete', async () => (await queue.getJob(onFailure!.id))?.state === 'completed' && (await q3Queue.getJob(jobs.D!.id))?.state === 'completed');
    // Enqueued once (A's failure reached it first; B's and C's later changed nothing), and ran once.
    expect((await events(q2, 'waiting')).get(onFailure!.id)).toBe(1);
    expect(started.get(`${q2}/${onFailure!.id}`)).toBe(1);
    expect([started.get(`${q2}/${jobs.B!.id}`), started.get(`${q3}/${jobs.C!.id}`)]).toEqual([undefined, undefined]);
    await waitFor('the outboxes to empty', async () => (await Promise.all(names.map((name) => admin.xlen(queueKeys(name, 'sluice', 1).outbox)))).every((n) => n === 0));
    await expectNothingLeft(names);
    await Promise.all(workers.map((worker) => worker.close()));
    await q3Queue.close();
    await queue.close();
  });

  it('relays SIGKILLed between applying notes and deleting them, over and over: every dependent is still made waiting once and runs', async () => {
    const names = await threeMasters('xkill');
    const [q1, q2, q3] = names;
    // A job whose process was killed runs again after its lease (5 s), however often: maxStalled is high, so a
    // job killed twice is not failed as stalled (the machine may also be busy enough to miss a beat).
    const env = { CLUSTER: JSON.stringify(connection.cluster), QUEUES: names.join(','), STALLED_TIMEOUT: '5000', STALLED_INTERVAL: '200', MAX_STALLED: '1000', JOB_MS: '5' };
    // One steady process for all three queues (one job at a time, so most go to the others), and flaky ones
    // that kill themselves between a delivery and its XDEL with probability 0.5, replaced as they die.
    const steady = runFixture('flow-cluster-worker', { ...env, CONCURRENCY: '1', JOB_MS: '20' });
    const flaky: Child[] = [];
    let kills = 0;
    let stopping = false;
    const spawnFlaky = (): void => {
      const child = runFixture('flow-cluster-worker', { ...env, KILL_BETWEEN: '0.5' });
      flaky.push(child);
      void child.exited.then((how) => {
        if (how === 'SIGKILL') kills++;
        if (!stopping && kills < 60) spawnFlaky();
      });
    };
    spawnFlaky();
    spawnFlaky();
    spawnFlaky();
    const between = (): number => [steady, ...flaky].reduce((sum, child) => sum + child.lines.filter((line) => line.startsWith('kill-between')).length, 0);
    const queue = new Queue(q1, { connection, redisConfig: 'off' });
    await waitFor('the three queues', async () => (await Promise.all(names.map((name) => queue.store.levelsOf(name)))).every((levels) => levels !== null), 20_000);
    const flows: { a: string; b: string; c: string }[] = [];
    // Waves of 20 flows until relays were killed between a delivery and its XDEL at least 8 times.
    for (let i = 0; i < 600 && (i % 20 !== 0 || between() < 8); i++) {
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 300));
      const { jobs } = await queue.addFlow({
        jobs: [
          { key: 'A', name: 'a', data: i },
          { key: 'B', name: 'b', data: i, queue: q2, dependsOn: ['A'] },
          { key: 'C', name: 'c', data: i, queue: q3, dependsOn: ['B'] },
        ],
      });
      flows.push({ a: jobs.A!.id, b: jobs.B!.id, c: jobs.C!.id });
    }
    const counts = names.map((name) => new Queue(name, { connection, redisConfig: 'off' }));
    const total = flows.length;
    await waitFor('every flow to complete', async () => (await Promise.all(counts.map((q) => q.getCounts()))).every((c) => c.completed === total), 120_000);
    stopping = true;
    console.log(`flows-cluster: ${total} flows; relays SIGKILLed between applying notes and deleting them: ${between()}; processes SIGKILLed: ${kills}`);
    // The relays were killed where it matters, and the notes they had applied were applied again after.
    expect(between()).toBeGreaterThanOrEqual(8);
    const waitingB = await events(q2, 'waiting');
    const waitingC = await events(q3, 'waiting');
    for (const flow of flows) expect([flow.b, waitingB.get(flow.b), flow.c, waitingC.get(flow.c)]).toEqual([flow.b, 1, flow.c, 1]);
    for (const q of counts) expect(await q.getCounts()).toMatchObject({ waiting: 0, active: 0, blocked: 0, failed: 0, completed: total });
    await waitFor('the outboxes to empty', async () => (await Promise.all(names.map((name) => admin.xlen(queueKeys(name, 'sluice', 1).outbox)))).every((n) => n === 0), 20_000);
    await expectNothingLeft(names);
    // SIGKILL, not SIGTERM: the last replacement may have started a moment ago, and a Worker closed within
    // milliseconds of its start on a Cluster can wait forever for its claim loop (noted, not fixed here).
    for (const child of [steady, ...flaky]) child.process.kill('SIGKILL');
    await Promise.all([steady, ...flaky].map((child) => child.exited));
    await Promise.all(counts.map((q) => q.close()));
    await queue.close();
  }, 180_000);

  it("a producer SIGKILLed half way: the written part's jobs that wait for the rest are failed after flowPartTimeout, and the onFailure job runs", async () => {
    const names = await threeMasters('xcut');
    const [q1, q2] = names;
    const started: string[] = [];
    const workers = names.map(
      (name) =>
        new Worker(
          name,
          async (job) => {
            started.push(`${name} ${job.name}`);
            return job.name;
          },
          { connection, redisConfig: 'off', flowPartTimeout: 500, stalledInterval: 200 },
        ),
    );
    const queue = new Queue(q2, { connection, redisConfig: 'off' });
    await waitFor('the queues', async () => (await Promise.all(names.map((name) => queue.store.levelsOf(name)))).every((levels) => levels !== null));
    // Parts, dependents first: q2's B and the onFailure job, then q1's A. The producer dies after the first.
    const flow = { jobs: [{ key: 'A', name: 'a', data: 1, queue: q1 }, { key: 'B', name: 'b', data: 2, dependsOn: ['A'] }], onFailure: { name: 'on-failure', data: 0 } };
    const producer = runFixture('flow-cluster-producer', { CLUSTER: JSON.stringify(connection.cluster), QUEUE: q2, FLOW: JSON.stringify(flow), KILL_AFTER_PARTS: '1' });
    expect(await producer.exited).toBe('SIGKILL');
    expect(producer.lines).toContain('killed after part 1');
    await waitFor('B to fail', async () => (await queue.getJobs('failed')).some((job) => job.name === 'b'), 20_000);
    const [b] = (await queue.getJobs('failed')).filter((job) => job.name === 'b');
    expect(b?.failedReason).toMatch(/^flow '[0-9a-f-]+' was never written whole: this job's part \(queue '.+'\) waited more than 500 ms/);
    await waitFor('the onFailure job to complete', () => started.includes(`${q2} on-failure`));
    expect(started.filter((s) => s === `${q2} on-failure`)).toHaveLength(1);
    // A was never written: nothing ran in q1, and nothing of the flow is left.
    expect(started.filter((s) => s.startsWith(q1))).toEqual([]);
    expect(await queue.getCounts()).toMatchObject({ blocked: 0, failed: 1, completed: 1 });
    await expectNothingLeft(names);
    await Promise.all(workers.map((worker) => worker.close()));
    await queue.close();
  }, 60_000);
});

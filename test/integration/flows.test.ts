import { describe, expect, it } from 'vitest';
import { MAX_FLOW_JOBS, Queue, QueueEvents, ValidationError, Worker, type Job } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

type Handler = (job: Job) => Promise<unknown>;

/** A queue and a worker running `handler`; the jobs it started, in order, by name. */
function open(label: string, handler: Handler, concurrency = 4) {
  const name = uniqueQueue(label);
  const queue = new Queue(name, { connection: redis.connection });
  const started: string[] = [];
  const worker = new Worker(
    name,
    async (job) => {
      started.push(job.name);
      return handler(job);
    },
    { connection: redis.connection, concurrency },
  );
  return {
    name,
    queue,
    worker,
    started,
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

/** Every key of the queue (SCAN): what a refused call must leave as it was. */
async function queueKeys(queue: Queue): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await queue.store.client.scan(cursor, 'MATCH', `${queue.store.keys.base}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('flows: jobs that wait for other jobs', () => {
  it('A -> {B, C} -> D: D starts after B and C completed and reads both results; blocked is counted exactly', async () => {
    let releaseB: () => void = () => undefined;
    const bGate = new Promise<void>((resolve) => (releaseB = resolve));
    const seen: Record<string, unknown> = {};
    const t = open('diamond', async (job) => {
      if (job.name === 'b') await bGate;
      if (job.name === 'd') Object.assign(seen, await job.getDependencies());
      return `${job.name}-result`;
    });
    const { jobs } = await t.queue.addFlow({
      jobs: [
        { key: 'A', name: 'a', data: {} },
        { key: 'B', name: 'b', data: {}, dependsOn: ['A'] },
        { key: 'C', name: 'c', data: {}, dependsOn: ['A'] },
        { key: 'D', name: 'd', data: {}, dependsOn: ['B', 'C'] },
      ],
    });
    expect(Object.keys(jobs).sort()).toEqual(['A', 'B', 'C', 'D']);
    await waitFor('c to complete', async () => (await t.queue.getJob(jobs.C!.id))?.state === 'completed');
    // B is held running: D must still be blocked, and counted as such, with C's result waiting for it.
    expect(t.started).not.toContain('d');
    expect(await t.queue.getCounts()).toMatchObject({ blocked: 1, active: 1, waiting: 0 });
    expect((await t.queue.getMetrics()).blocked).toBe(1);
    expect((await t.queue.getJobs('blocked')).map((job) => job.id)).toEqual([jobs.D!.id]);
    expect((await t.queue.getJob(jobs.D!.id))?.state).toBe('blocked');
    releaseB();
    await waitFor('d to complete', async () => (await t.queue.getJob(jobs.D!.id))?.state === 'completed');
    expect(t.started.indexOf('d')).toBe(3);
    expect(seen).toEqual({
      B: { id: jobs.B!.id, queue: t.name, state: 'completed', returnvalue: 'b-result' },
      C: { id: jobs.C!.id, queue: t.name, state: 'completed', returnvalue: 'c-result' },
    });
    expect(await t.queue.getCounts()).toMatchObject({ blocked: 0, waiting: 0, active: 0, completed: 4, failed: 0 });
    // Nothing of the links is left once the flow ended.
    expect((await queueKeys(t.queue)).filter((key) => /:(deps|dependents):|:linked$|:blocked$/.test(key))).toEqual([]);
    expect(await t.queue.store.client.hget(t.queue.store.keys.meta, 'linked')).toBe('0');
    await t.close();
  });

  it("C failing for good fails D (its reason names C) and enqueues the flow's onFailure job exactly once", async () => {
    const t = open('fails', async (job) => {
      if (job.name === 'c') throw new Error('card declined');
      if (job.name === 'on-failure') return job.getDependencies();
      return job.name;
    });
    const events = new QueueEvents(t.name, { connection: redis.connection });
    await events.waitUntilReady();
    const { jobs, onFailure } = await t.queue.addFlow({
      jobs: [
        { key: 'A', name: 'a', data: {} },
        { key: 'B', name: 'b', data: {}, dependsOn: ['A'] },
        { key: 'C', name: 'c', data: {}, dependsOn: ['A'], opts: { attempts: 2, backoff: { type: 'fixed', delay: 10 } } },
        { key: 'D', name: 'd', data: {}, dependsOn: ['B', 'C'] },
      ],
      onFailure: { name: 'on-failure', data: { flow: 'invoice' } },
    });
    expect(onFailure?.state).toBe('blocked');
    const outcomes = (await onFailure!.waitUntilFinished(events, 10_000)) as Record<string, { state: string; failedReason?: string }>;
    await waitFor('b and d to end', async () => (await t.queue.getCounts()).blocked === 0 && (await t.queue.getCounts()).active === 0);
    const d = await t.queue.getJob(jobs.D!.id);
    expect(d?.state).toBe('failed');
    expect(d?.failedReason).toBe(`dependency 'C' (job ${jobs.C!.id}) failed: card declined`);
    expect(t.started.filter((name) => name === 'on-failure')).toHaveLength(1);
    expect(t.started).not.toContain('d');
    expect(outcomes.C).toMatchObject({ state: 'failed', failedReason: 'card declined' });
    expect(await t.queue.getCounts()).toMatchObject({ blocked: 0, waiting: 0, failed: 2, completed: 3 });
    await events.close();
    await t.close();
  });

  it("'ignore' runs the job with the failure recorded; 'remove' deletes it, and its own dependents learn it was removed", async () => {
    const seen: Record<string, unknown> = {};
    const t = open('policies', async (job) => {
      if (job.name === 'bad') throw new Error('no');
      if (job.name === 'tolerant') Object.assign(seen, await job.getDependencies());
      return job.name;
    });
    const { jobs } = await t.queue.addFlow({
      jobs: [
        { key: 'bad', name: 'bad', data: {}, opts: { attempts: 1 } },
        { key: 'good', name: 'good', data: {} },
        { key: 'tolerant', name: 'tolerant', data: {}, dependsOn: ['bad', 'good'], opts: { onDependencyFailure: 'ignore' } },
        { key: 'optional', name: 'optional', data: {}, dependsOn: ['bad'], opts: { onDependencyFailure: 'remove' } },
        { key: 'after-optional', name: 'after-optional', data: {}, dependsOn: ['optional'] },
      ],
    });
    await waitFor('the flow to end', async () => (await t.queue.getJob(jobs.tolerant!.id))?.state === 'completed' && (await t.queue.getCounts()).blocked === 0);
    expect(seen).toEqual({ bad: { id: jobs.bad!.id, queue: t.name, state: 'failed', failedReason: 'no' }, good: { id: jobs.good!.id, queue: t.name, state: 'completed', returnvalue: 'good' } });
    expect(await t.queue.getJob(jobs.optional!.id)).toBeUndefined();
    const after = await t.queue.getJob(jobs['after-optional']!.id);
    expect([after?.state, after?.failedReason]).toEqual(['failed', `dependency 'optional' (job ${jobs.optional!.id}) was removed`]);
    expect(await t.queue.getCounts()).toMatchObject({ blocked: 0, failed: 2, completed: 2 });
    await t.close();
  });

  it('chains existing jobs with dependsOn: finished, running and waiting dependencies, and onFailure on one job', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const t = open('chain', async (job) => {
      if (job.name === 'prepare') await gate;
      if (job.name === 'finalize') return job.getDependencies();
      if (job.name === 'partition') throw new Error('partition failed');
      return `${job.name} done`;
    }, 1);
    const done = await t.queue.add('done-before', {});
    await waitFor('done-before to complete', async () => (await t.queue.getJob(done.id))?.state === 'completed');
    const prepare = await t.queue.add('prepare', {}, { attempts: 1 });
    await waitFor('prepare to run', () => t.started.includes('prepare'));
    // prepare runs while its dependents are added: its settle must still find them.
    const partition = await t.queue.add('partition', {}, { dependsOn: [prepare.id], attempts: 1, onFailure: { name: 'handle-partition-failure', data: { batch: 7 } } });
    const finalize = await t.queue.add('finalize', {}, { dependsOn: [done.id, prepare.id], onDependencyFailure: 'ignore' });
    expect([partition.state, finalize.state]).toEqual(['blocked', 'blocked']);
    release();
    await waitFor('the chain to end', async () => {
      const counts = await t.queue.getCounts();
      return counts.blocked === 0 && counts.waiting === 0 && counts.active === 0 && t.started.includes('handle-partition-failure');
    });
    // partition and finalize became waiting in prepare's settle; the onFailure job in partition's.
    expect(t.started.slice(0, 2)).toEqual(['done-before', 'prepare']);
    expect([...t.started.slice(2)].sort()).toEqual(['finalize', 'handle-partition-failure', 'partition']);
    expect(t.started.indexOf('handle-partition-failure')).toBeGreaterThan(t.started.indexOf('partition'));
    const final = await t.queue.getJob(finalize.id);
    expect(final?.returnvalue).toEqual({
      [done.id]: { id: done.id, queue: t.name, state: 'completed', returnvalue: 'done-before done' },
      [prepare.id]: { id: prepare.id, queue: t.name, state: 'completed', returnvalue: 'prepare done' },
    });
    await t.close();
  });

  it("keeps a dependency's result for its dependent whatever retention deletes meanwhile", async () => {
    const seen: Record<string, unknown> = {};
    const t = open('retention', async (job) => {
      if (job.name === 'last') Object.assign(seen, await job.getDependencies());
      return { from: job.name };
    });
    await t.queue.pause();
    const { jobs } = await t.queue.addFlow({
      jobs: [
        { key: 'gone', name: 'gone', data: {}, opts: { removeOnComplete: true } },
        { key: 'trimmed', name: 'trimmed', data: {}, opts: { removeOnComplete: 1 } },
        { key: 'other', name: 'other', data: {}, opts: { removeOnComplete: 1 } },
        { key: 'last', name: 'last', data: {}, dependsOn: ['gone', 'trimmed', 'other'], opts: { priority: 2 } },
      ],
    });
    await t.queue.resume();
    await waitFor('last to complete', async () => (await t.queue.getCounts()).blocked === 0 && Object.keys(seen).length === 3);
    // Retention kept one completed job of count 1 (and none of `gone`): at least one result is gone from Redis.
    expect((await t.queue.getJob(jobs.gone!.id))).toBeUndefined();
    expect(seen).toEqual({
      gone: { id: jobs.gone!.id, queue: t.name, state: 'completed', returnvalue: { from: 'gone' } },
      trimmed: { id: jobs.trimmed!.id, queue: t.name, state: 'completed', returnvalue: { from: 'trimmed' } },
      other: { id: jobs.other!.id, queue: t.name, state: 'completed', returnvalue: { from: 'other' } },
    });
    await t.close();
  });

  it('runs grouped and prioritized jobs of a flow within their group and level once unblocked', async () => {
    const t = open('grouped', async (job) => job.name, 2);
    await t.queue.setGroupLimit({ concurrency: 1 }, 'tenant-a');
    const { jobs } = await t.queue.addFlow({
      jobs: [
        { key: 'root', name: 'root', data: {}, opts: { group: 'tenant-a' } },
        { key: 'left', name: 'left', data: {}, opts: { group: 'tenant-a', priority: 0 }, dependsOn: ['root'] },
        { key: 'right', name: 'right', data: {}, opts: { priority: 2 }, dependsOn: ['root'] },
      ],
    });
    await waitFor('the flow to complete', async () => (await t.queue.getCounts()).completed === 3);
    expect(t.started[0]).toBe('root');
    const left = await t.queue.getJob(jobs.left!.id);
    expect([left?.group, left?.priority, (await t.queue.getJob(jobs.right!.id))?.priority]).toEqual(['tenant-a', 0, 2]);
    expect(await t.queue.getCounts()).toMatchObject({ blocked: 0, waiting: 0, active: 0, limited: 0 });
    await t.close();
  });

  it('removing a blocked job or a dependency settles the jobs that wait for it', async () => {
    const t = open('remove', async (job) => job.name);
    await t.queue.pause();
    const first = await t.queue.add('first', {});
    const second = await t.queue.add('second', {}, { dependsOn: [first.id] });
    const third = await t.queue.add('third', {}, { dependsOn: [second.id], onDependencyFailure: 'ignore' });
    await second.remove();
    const after = await t.queue.getJob(third.id);
    // 'ignore': its only dependency was removed, so it waits no longer.
    expect(after?.state).toBe('waiting');
    expect(await t.queue.getCounts()).toMatchObject({ blocked: 0, waiting: 0, paused: 2 });
    await first.remove();
    expect(await t.queue.store.client.hget(t.queue.store.keys.meta, 'linked')).toBe('1');
    await t.queue.resume();
    await waitFor('third to complete', async () => (await t.queue.getJob(third.id))?.state === 'completed');
    expect(await t.queue.store.client.hget(t.queue.store.keys.meta, 'linked')).toBe('0');
    await t.close();
  });

  it('spans two queues of one Redis: each job runs on its own queue, ends pass across, events go to each queue', async () => {
    const results: Record<string, unknown> = {};
    const p = open('orders', async (job) => {
      if (job.name === 'total') Object.assign(results, await job.getDependencies());
      return `${job.name} done`;
    });
    const q = open('emails', async (job) => {
      if (job.name === 'broken') throw new Error('smtp down');
      return `${job.name} sent`;
    });
    // The other queue must exist: anything that writes to it creates it (here a pause and resume).
    await q.queue.pause();
    await q.queue.resume();
    const { jobs } = await p.queue.addFlow({
      jobs: [
        { key: 'price', name: 'price', data: {} },
        { key: 'notify', name: 'notify', data: {}, queue: q.name },
        { key: 'total', name: 'total', data: {}, dependsOn: ['price', 'notify'] },
        { key: 'receipt', name: 'receipt', data: {}, queue: q.name, dependsOn: ['total'] },
      ],
    });
    expect(jobs.notify?.queueName).toBe(q.name);
    await waitFor('the receipt to be sent', async () => (await q.queue.getJob(jobs.receipt!.id))?.state === 'completed');
    expect(p.started).toEqual(['price', 'total']);
    expect(q.started).toEqual(['notify', 'receipt']);
    expect(results).toEqual({
      price: { id: jobs.price!.id, queue: p.name, state: 'completed', returnvalue: 'price done' },
      notify: { id: jobs.notify!.id, queue: q.name, state: 'completed', returnvalue: 'notify sent' },
    });
    expect(await p.queue.getCounts()).toMatchObject({ completed: 2, blocked: 0, waiting: 0, active: 0 });
    expect(await q.queue.getCounts()).toMatchObject({ completed: 2, blocked: 0, waiting: 0, active: 0 });
    // Each job's 'added' event went to its own queue's stream.
    const added = async (queue: Queue): Promise<string[]> =>
      (await queue.store.client.xrange(queue.store.keys.events, '-', '+')).flatMap(([, fields]) => {
        const ids: string[] = [];
        let type = '';
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === '') type = fields[i + 1] as string;
          else if (type === 'added') ids.push(fields[i + 1] as string);
        }
        return ids;
      });
    expect((await added(q.queue)).sort()).toEqual(['notify', 'receipt']);
    expect((await added(p.queue)).sort()).toEqual(['price', 'total']);

    // A dependency in another queue, given by id; its failure fails the job here and, through it, the next.
    const broken = await q.queue.add('broken', {}, { attempts: 1 });
    const after = await p.queue.add('after', {}, { dependsOn: [{ queue: q.name, id: broken.id }] });
    const last = await q.queue.add('last', {}, { dependsOn: [{ queue: p.name, id: after.id }] });
    await waitFor('last to fail', async () => (await q.queue.getJob(last.id))?.state === 'failed');
    expect((await p.queue.getJob(after.id))?.failedReason).toBe(`dependency '${broken.id}' (job ${broken.id} of queue '${q.name}') failed: smtp down`);
    expect((await q.queue.getJob(last.id))?.failedReason).toBe(`dependency '${after.id}' (job ${after.id} of queue '${p.name}') failed: dependency '${broken.id}' (job ${broken.id} of queue '${q.name}') failed: smtp down`);
    for (const queue of [p.queue, q.queue]) expect(await queue.store.client.hget(queue.store.keys.meta, 'linked')).toBe('0');
    await expect(p.queue.addFlow({ jobs: [{ key: 'x', name: 'x', data: 1, queue: 'nowhere' }] })).rejects.toThrow("queue 'nowhere' of this prefix does not exist");
    await p.close();
    await q.close();
  });

  it('cancelling a dependency, or a blocked job, ends it for the jobs that wait for it', async () => {
    const name = uniqueQueue('cancel');
    const queue = new Queue(name, { connection: redis.connection });
    const first = await queue.add('first', {});
    const second = await queue.add('second', {}, { dependsOn: [first.id] });
    const third = await queue.add('third', {}, { dependsOn: [second.id] });
    const fourth = await queue.add('fourth', {}, { dependsOn: [first.id], onDependencyFailure: 'ignore' });
    // A blocked job's data may still change: it is read when it runs.
    await fourth.updateData({ fixed: true });
    expect([(await queue.getJob(fourth.id))?.state, (await queue.getJob(fourth.id))?.data]).toEqual(['blocked', { fixed: true }]);
    await queue.cancel(second.id, 'not needed');
    expect((await queue.getJob(second.id))?.failedReason).toBe('cancelled: not needed');
    expect((await queue.getJob(third.id))?.failedReason).toBe(`dependency '${second.id}' failed: cancelled: not needed`);
    await queue.cancel(first.id);
    expect((await queue.getJob(fourth.id))?.state).toBe('waiting');
    expect(await queue.getCounts()).toMatchObject({ blocked: 0, waiting: 1, failed: 3 });
    expect(await queue.store.client.hget(queue.store.keys.meta, 'linked')).toBe('1');
    await queue.close();
  });

  it('refuses cycles, unknown keys and ids, removed jobs, oversize flows and taken jobIds, writing nothing', async () => {
    const name = uniqueQueue('refuse');
    const queue = new Queue(name, { connection: redis.connection });
    const existing = await queue.add('existing', {}, { jobId: 'taken' });
    const removed = await queue.add('removed', {});
    await removed.remove();
    const before = await queueKeys(queue);
    const counts = await queue.getCounts();
    const refusals: [string, () => Promise<unknown>][] = [
      ["the flow has a cycle: 'c' -> 'b' -> 'c'; nothing was written", () => queue.addFlow({ jobs: [{ key: 'a', name: 'a', data: 1 }, { key: 'b', name: 'b', data: 1, dependsOn: ['a', 'c'] }, { key: 'c', name: 'c', data: 1, dependsOn: ['b'] }] })],
      ["depends on 'x', which is no key of this flow", () => queue.addFlow({ jobs: [{ key: 'a', name: 'a', data: 1, dependsOn: ['x'] }] })],
      ["job 'a' depends on itself", () => queue.addFlow({ jobs: [{ key: 'a', name: 'a', data: 1, dependsOn: ['a'] }] })],
      ["dependsOn: job 'nope' does not exist", () => queue.add('x', 1, { dependsOn: ['nope'] })],
      [`dependsOn: job '${removed.id}' does not exist`, () => queue.addFlow({ jobs: [{ key: 'a', name: 'a', data: 1 }, { key: 'b', name: 'b', data: 1, opts: { dependsOn: [existing.id, removed.id] } }] })],
      [`at most ${MAX_FLOW_JOBS} are allowed`, () => queue.addFlow({ jobs: Array.from({ length: MAX_FLOW_JOBS + 1 }, (_, i) => ({ key: `k${i}`, name: 'n', data: i })) })],
      ["jobId 'taken' exists already", () => queue.addFlow({ jobs: [{ key: 'a', name: 'a', data: 1 }, { key: 'b', name: 'b', data: 1, opts: { jobId: 'taken' }, dependsOn: ['a'] }] })],
      ["key 'a' is used by two jobs", () => queue.addFlow({ jobs: [{ key: 'a', name: 'a', data: 1 }, { key: 'a', name: 'b', data: 1 }] })],
      ['cannot also have delay or runAt', () => queue.add('x', 1, { dependsOn: [existing.id], delay: 100 })],
      ["onDependencyFailure must be 'fail', 'ignore' or 'remove'", () => queue.add('x', 1, { dependsOn: [existing.id], onDependencyFailure: 'skip' as 'fail' })],
    ];
    for (const [message, call] of refusals) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect(error, message).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain(message);
    }
    expect(await queueKeys(queue)).toEqual(before);
    expect(await queue.getCounts()).toEqual(counts);
    // A jobId that exists answers add() with the existing job, as a plain add does.
    expect((await queue.add('again', {}, { jobId: 'taken', dependsOn: [existing.id] })).name).toBe('existing');
    await queue.close();
  });
});

import { describe, expect, it } from 'vitest';
import { ControlStore } from '../../src/redis/control-store.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { LabelStore } from '../../src/redis/label-store.js';
import { Status } from '../../src/redis/status.js';
import type { AddInput } from '../../src/redis/store.js';
import { KEEP_ALL, type Keep } from '../../src/options.js';
import { encode } from '../../src/serializer.js';
import { commandCalls } from '../harness/commandstats.js';
import { useRedis } from '../harness/redis.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

const result = encode(1, 'result', 1024);
const add = async (jobs: Partial<AddInput>[]): Promise<string[]> => (await lua.store.add(jobs.map((job) => input(job)))).map((added) => added.id);
async function claim(count = 100): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim('w', count, 100);
  return claimed.kind === 'jobs' ? claimed.jobs : [];
}
/** Completes claimed jobs, flagging the ones in `labeled` as the worker does (job.opts.labels). */
const complete = (jobs: ClaimedJob[], labeled: Set<string>, keep: Keep = KEEP_ALL) =>
  lua.store.complete(jobs.map((job) => ({ job, result, keep, labels: labeled.has(job.id) })));
const failForGood = (jobs: ClaimedJob[], labeled: Set<string>, keep: Keep = KEEP_ALL) =>
  lua.store.fail(jobs.map((job) => ({ job, retryDelay: -1, reason: 'boom', stack: '', keep, labels: labeled.has(job.id) })));

/** The whole label index of the queue: each label's three sets, the registry, labels:of and meta `labeled`. */
async function index(): Promise<{ sets: Record<string, string[]>; registry: Record<string, number>; of: Record<string, string>; labeled: number }> {
  const { keys } = lua.store;
  const registryFlat = await lua.client.zrange(keys.labels, '0', '-1', 'WITHSCORES');
  const registry: Record<string, number> = {};
  for (let i = 0; i < registryFlat.length; i += 2) registry[registryFlat[i]!] = Number(registryFlat[i + 1]);
  const sets: Record<string, string[]> = {};
  // Every key of the index, found by SCAN: a set left behind (empty sets do not exist) shows up here.
  for (const key of await lua.client.keys(`${keys.base}label:*`)) {
    sets[key.slice(`${keys.base}label:`.length)] = (await lua.client.zrange(key, '0', '-1')).sort();
  }
  return { sets, registry, of: await lua.client.hgetall(keys.labelsOf), labeled: Number((await lua.client.hget(keys.meta, 'labeled')) ?? '0') };
}

describe('label index: add', () => {
  it('indexes labeled jobs of every kind as unfinished, and nothing of a job without labels', async () => {
    const ids = await add([
      { labels: 'a\nb' },
      {},
      { labels: 'a', delay: 60_000 },
      { labels: 'b', group: 'g' },
      { labels: 'a', jobId: 'order-1' },
    ]);
    const [ready, plain, delayed, grouped, named] = ids as [string, string, string, string, string];
    expect(await index()).toEqual({
      sets: { 'a:q': [ready, delayed, named].sort(), 'b:q': [ready, grouped].sort() },
      registry: { a: 3, b: 2 },
      of: { [ready]: 'a\nb', [delayed]: 'a', [grouped]: 'b', [named]: 'a' },
      labeled: 4,
    });
    expect(ids).toContain(plain);
    // A duplicate jobId changes nothing, its labels included.
    expect(await add([{ labels: 'c', jobId: 'order-1' }])).toEqual(['order-1']);
    expect((await index()).registry).toEqual({ a: 3, b: 2 });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 4, delayed: 1 });
  });

  it('indexes a job added with dedupe and labels once, when the add creates it', async () => {
    const control = ControlStore.of(lua.store);
    const first = await control.addDeduped(input({ labels: 'x' }), { key: 'k' }, 0);
    const again = await control.addDeduped(input({ labels: 'x' }), { key: 'k' }, 0);
    expect([first.status, again.status]).toEqual([Status.OK, Status.DEDUPLICATED]);
    expect(await index()).toMatchObject({ sets: { 'x:q': [first.id] }, registry: { x: 1 }, labeled: 1 });
  });
});

describe('label index: settles', () => {
  it('moves a completed job to c and a job failed for good to f; a retry keeps it unfinished', async () => {
    const [done, failed, retried] = (await add([{ labels: 'a' }, { labels: 'a' }, { labels: 'a' }])) as [string, string, string];
    const labeled = new Set([done, failed, retried]);
    const jobs = await claim();
    const byId = (id: string) => jobs.find((job) => job.id === id)!;
    await complete([byId(done)], labeled);
    await failForGood([byId(failed)], labeled);
    await lua.store.fail([{ job: byId(retried), retryDelay: 60_000, reason: 'again', stack: '', keep: KEEP_ALL, labels: true }]);
    expect((await index()).sets).toEqual({ 'a:c': [done], 'a:f': [failed], 'a:q': [retried] });
    expect((await index()).registry).toEqual({ a: 3 });
  });

  it('drops the entries of jobs deleted at once (removeOnComplete / removeOnFail true)', async () => {
    const [a, b, plain] = (await add([{ labels: 'l' }, { labels: 'l' }, {}])) as [string, string, string];
    const labeled = new Set([a, b]);
    const jobs = await claim();
    await complete(jobs.filter((job) => job.id !== b), labeled, { count: 0, age: -1 });
    await failForGood(jobs.filter((job) => job.id === b), labeled, { count: 0, age: -1 });
    expect(await index()).toEqual({ sets: {}, registry: {}, of: {}, labeled: 0 });
    expect(plain).toBeDefined();
  });

  it('retention drops the entries of the labeled jobs it deletes, whoever completed after them', async () => {
    const [old1, old2] = (await add([{ labels: 'r' }, { labels: 's' }])) as [string, string];
    await complete(await claim(), new Set([old1, old2]), { count: 5, age: -1 });
    // Jobs without labels complete after them, with a retention of 1: they push the labeled ones out.
    await add([{}, {}]);
    await complete(await claim(), new Set(), { count: 1, age: -1 });
    expect(await index()).toEqual({ sets: {}, registry: {}, of: {}, labeled: 0 });
    expect(await lua.store.getCounts()).toMatchObject({ completed: 1 });

    // Failed ones likewise.
    const [f1] = (await add([{ labels: 'r' }])) as [string];
    await failForGood(await claim(), new Set([f1]), { count: 5, age: -1 });
    expect((await index()).sets).toEqual({ 'r:f': [f1] });
    await add([{}]);
    await failForGood(await claim(), new Set(), { count: 1, age: -1 });
    expect(await index()).toEqual({ sets: {}, registry: {}, of: {}, labeled: 0 });
  });

  it('a complete that claims too reads the gate with its claim: its retention drops labeled entries, and on a queue without labels reads nothing more', async () => {
    const completeClaiming = (jobs: ClaimedJob[], labeled: Set<string>) =>
      lua.store.complete(
        jobs.map((job) => ({ job, result, keep: { count: 1, age: -1 }, labels: labeled.has(job.id) })),
        { consumer: 'w', count: 1, promoteLimit: 100 },
      );
    const [old] = (await add([{ labels: 'r' }])) as [string];
    await complete(await claim(), new Set([old]), { count: 5, age: -1 });
    await add([{}, {}, {}]);
    const reply = await completeClaiming(await claim(1), new Set());
    // Its retention of 1 deleted the labeled job, whose entries went with it.
    expect(await index()).toEqual({ sets: {}, registry: {}, of: {}, labeled: 0 });
    const [next] = reply.claimed?.kind === 'jobs' ? reply.claimed.jobs : [];
    expect(next).toBeDefined();
    // No label left in the queue: the gate is read with the claim's HMGET, never with an HGET of its own.
    const before = await commandCalls(lua.client);
    await completeClaiming([next!], new Set());
    const after = await commandCalls(lua.client);
    expect((after.get('hget') ?? 0) - (before.get('hget') ?? 0)).toBe(0);
    expect(await lua.store.getCounts()).toMatchObject({ completed: 1, active: 1 });
  });

  it('moves a stalled job failed for good and a cancelled one (running or delayed) to f', async () => {
    const [stalled, cancelled, waiting] = (await add([{ labels: 's' }, { labels: 's' }, { labels: 's', delay: 60_000 }])) as [string, string, string];
    const jobs = await claim();
    expect(jobs.map((job) => job.id).sort()).toEqual([stalled, cancelled].sort());
    await ControlStore.of(lua.store).cancel(cancelled, 'no');
    await ControlStore.of(lua.store).cancel(waiting, 'no');
    expect(await lua.store.recoverStalled('reaper', 0, 0, 100)).toMatchObject({ failed: 1 });
    expect((await index()).sets).toEqual({ 's:f': [stalled, cancelled, waiting].sort() });
    expect(await lua.store.getCounts()).toMatchObject({ failed: 3, active: 0 });
  });
});

describe('label index: people', () => {
  it('retry moves a finished job back to unfinished, remove drops it, and a label no job carries leaves the registry', async () => {
    const [a, b, c] = (await add([{ labels: 'x\ny' }, { labels: 'x' }, { labels: 'x' }])) as [string, string, string];
    const labeled = new Set([a, b, c]);
    const jobs = await claim();
    await complete(jobs.filter((job) => job.id === a), labeled);
    await failForGood(jobs.filter((job) => job.id !== a), labeled);
    expect((await index()).sets).toEqual({ 'x:c': [a], 'y:c': [a], 'x:f': [b, c].sort() });

    expect(await lua.store.retryJob(a)).toBe(Status.OK);
    expect(await lua.store.retryJobs('failed', 1, 0)).toMatchObject({ revived: 1 });
    const revived = (await index()).sets['x:q']!;
    expect(revived).toHaveLength(2);
    expect(revived).toContain(a);
    expect((await index()).sets).toMatchObject({ 'y:q': [a], 'x:f': [[b, c].find((id) => !revived.includes(id))] });

    expect(await lua.store.removeJob(a)).toBe(Status.OK);
    expect((await index()).registry).toEqual({ x: 2 });
    for (const id of [b, c]) expect(await lua.store.removeJob(id)).toBe(Status.OK);
    expect(await index()).toEqual({ sets: {}, registry: {}, of: {}, labeled: 0 });
  });

  it('obliterate deletes every key of the index, in steps when there are many labels', async () => {
    const labels = Array.from({ length: 30 }, (_, i) => `label-${i}`);
    await add(labels.map((label) => ({ labels: label })));
    await complete((await claim(10)), new Set(), KEEP_ALL);
    let steps = 0;
    while ((await lua.store.obliterate(true, 7)) > 0) steps++;
    // 30 jobs and 30 labels, 7 per call: more than the 5 calls the jobs alone take.
    expect(steps).toBeGreaterThan(5);
    expect(await lua.client.keys(`${lua.store.keys.base}*`)).toEqual([]);
  });
});

describe('find-jobs', () => {
  it('reads a label in a state: finished ones by position, unfinished ones checked one by one', async () => {
    const ids = await add(Array.from({ length: 6 }, (_, i) => ({ labels: i % 2 === 0 ? 'even' : 'odd', delay: i === 4 ? 60_000 : -1 })));
    const jobs = await claim(2);
    await complete(jobs, new Set(ids));
    const finder = LabelStore.of(lua.store);
    const completed = await finder.window('completed', 'even', '', 0, 10);
    expect(completed.jobs.map((job) => [job.id, job.state])).toEqual([[ids[0], 'completed']]);
    const waiting = await finder.window('waiting', 'even', '', 0, 10);
    // Three unfinished 'even' jobs looked at: one waiting, one delayed... and the completed one is in c.
    expect(waiting.looked).toBe(2);
    expect(waiting.jobs.map((job) => job.id)).toEqual([ids[2]]);
    expect((await finder.window('delayed', 'even', '', 0, 10)).jobs.map((job) => job.id)).toEqual([ids[4]]);
    expect(await finder.labels(10)).toEqual([
      { label: 'odd', jobs: 3 },
      { label: 'even', jobs: 3 },
    ]);
  });
});

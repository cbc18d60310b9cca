import { describe, expect, it } from 'vitest';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import type { FlowInput } from '../../src/redis/store.js';
import { KEEP_ALL } from '../../src/options.js';
import { encode } from '../../src/serializer.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, openStore, useStore } from './store.js';

// lua/add-flow.lua and lua/includes/dependents.lua, driven through QueueStore: the links, the gate that keeps
// them off the hot path, and every script that ends a job passing its outcome on.

const redis = useRedis();
const lua = useStore(redis);

function job(key: string, deps: string[] = [], overrides: Partial<FlowInput> = {}): FlowInput {
  const { name, data, opts, prio, group } = input();
  return { key, queue: '', jobId: '', name: `${name}-${key}`, data, opts, prio, grp: group, policy: 'fail', deps, ...overrides };
}

async function addFlow(jobs: FlowInput[], maxDependents = 1000): Promise<string[]> {
  const reply = await lua.store.addFlow(jobs, maxDependents);
  if (!('ids' in reply)) throw new Error(`add-flow refused: ${reply.refused} ${reply.detail}`);
  return reply.ids;
}

async function claimAll(consumer: string, count: number): Promise<ClaimedJob[]> {
  const reply = await lua.store.claim(consumer, count, 100);
  if (reply.kind !== 'jobs') throw new Error(`expected jobs, got ${reply.kind}`);
  return reply.jobs;
}

const done = (claimed: ClaimedJob, result = 'r') => ({ job: claimed, result: encode(result, 'result', 1024), keep: KEEP_ALL });

/** Calls of each command so far (INFO commandstats; Lua's calls included). */
async function calls(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const match of (await lua.client.info('commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) out.set(match[1] as string, Number(match[2]));
  return out;
}

async function callsDuring(action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await calls();
  await action();
  const after = await calls();
  const out: Record<string, number> = {};
  for (const [name, n] of after) if (n !== (before.get(name) ?? 0)) out[name] = n - (before.get(name) ?? 0);
  return out;
}

describe('flows in the scripts', () => {
  it('costs a queue without links no command per job: one HGET of meta per complete call, none when it claims too', async () => {
    // Another queue on the same Redis uses flows: the gate is per queue.
    const other = await openStore(redis.url);
    await other.store.addFlow([job('a'), job('b', ['L1'])], 1000);
    await lua.store.add(Array.from({ length: 6 }, () => input()));
    const jobs = await claimAll('a', 6);
    const alone = await callsDuring(() => lua.store.complete(jobs.slice(0, 3).map((j) => done(j))));
    expect(alone.hget).toBe(1);
    expect(alone.smismember).toBeUndefined();
    const claiming = await callsDuring(() => lua.store.complete(jobs.slice(3).map((j) => done(j)), { consumer: 'a', count: 1, promoteLimit: 100 }));
    expect(claiming.hget).toBeUndefined();
    expect(claiming.smismember).toBeUndefined();
    // A retry is no end: fail reads the gate only when a job failed for good.
    await lua.store.add([input(), input()]);
    const [retried, failed] = await claimAll('a', 2);
    const retry = await callsDuring(() => lua.store.fail([{ job: retried!, retryDelay: 0, reason: 'x', stack: '', keep: KEEP_ALL }]));
    expect(retry.hget).toBeUndefined();
    const forGood = await callsDuring(() => lua.store.fail([{ job: failed!, retryDelay: -1, reason: 'x', stack: '', keep: KEEP_ALL }]));
    expect([forGood.hget, forGood.smismember]).toEqual([1, undefined]);
    await other.close();
  });

  it('B and C completed in one call make D waiting once, with both results in its deps hash', async () => {
    const [b, c, d] = await addFlow([job('B'), job('C'), job('D', ['L1', 'L2'])]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, blocked: 1 });
    expect(await lua.client.hmget(lua.store.keys.job(d!), 'state', 'open', 'pol')).toEqual(['blocked', '2', 'fail']);
    const tag = `{${lua.store.keys.name}}`;
    expect(await lua.client.smembers(lua.store.keys.dependents(b!))).toEqual([`${tag}${d}`]);
    expect((await lua.client.smembers(lua.store.keys.linked)).sort()).toEqual([b, c, d].sort());
    expect(await lua.client.hget(lua.store.keys.meta, 'linked')).toBe('3');

    const claimed = await claimAll('a', 5);
    expect(claimed.map((j) => j.id)).toEqual([b, c]);
    await lua.store.complete([done(claimed[0]!, 'from B'), done(claimed[1]!, 'from C')]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, blocked: 0, completed: 2 });
    expect((await claimAll('a', 5)).map((j) => j.id)).toEqual([d]);
    const deps = await lua.store.getDependencies(d!);
    expect(Object.keys(deps).sort()).toEqual([`${tag}${b}`, `${tag}${c}`].sort());
    expect(deps[`${tag}${b}`]!.includes(Buffer.from('from B'))).toBe(true);
    // B and C left the linked set; D stays in it until it ends.
    expect(await lua.client.smembers(lua.store.keys.linked)).toEqual([d]);
    expect(await lua.client.exists(lua.store.keys.dependents(b!), lua.store.keys.deps(b!))).toBe(0);
  });

  it('a dependency failed for good by the stalled sweep fails its dependent, naming it', async () => {
    const [b, d] = await addFlow([job('B'), job('D', ['L1'])]);
    await claimAll('a', 1);
    await sleep(30);
    // maxStalled 0: the first stall fails B for good.
    expect(await lua.store.recoverStalled('reaper', 10, 0, 100)).toMatchObject({ requeued: 0, failed: 1 });
    const dependent = await lua.store.getJob(d!);
    expect([dependent?.state, dependent?.failedReason]).toEqual([
      'failed',
      `dependency 'B' (job ${b}) failed: stalled: the job's worker stopped responding 1 times (maxStalled 0)`,
    ]);
    expect(await lua.store.getCounts()).toMatchObject({ blocked: 0, failed: 2, active: 0 });
    // Counted as failed for good, as any job: the lifetime total and the minute's count.
    expect((await lua.store.getMetrics()).failedTotal).toBe(2);
    expect(Object.entries(await lua.client.hgetall(lua.store.keys.historyNow)).filter(([field]) => field.startsWith('f')).map(([, n]) => n)).toEqual(['2']);
    expect(await lua.client.hget(lua.store.keys.meta, 'linked')).toBe('0');
  });

  it('refuses, writing nothing: an unknown dependency, a taken jobId, a priority past the levels, too many dependents', async () => {
    const [root] = await addFlow([job('root')]);
    const before = await lua.client.dbsize();
    const id = await lua.client.get(lua.store.keys.id);
    expect(await lua.store.addFlow([job('x', ['Enope'])], 1000)).toEqual({ refused: Status.JOB_MISSING, detail: 'nope' });
    expect(await lua.store.addFlow([job('x', [], { jobId: 'twice' }), job('y', [], { jobId: 'twice' })], 1000)).toEqual({ refused: Status.DUPLICATE, detail: 'twice' });
    expect(await lua.client.dbsize()).toBe(before);
    expect(await lua.client.get(lua.store.keys.id)).toBe(id);
    await addFlow([job('y', [], { jobId: 'taken' })]);
    const size = await lua.client.dbsize();
    expect(await lua.store.addFlow([job('a'), job('b', [], { jobId: 'taken' })], 1000)).toEqual({ refused: Status.DUPLICATE, detail: 'taken' });
    expect(await lua.store.addFlow([job('a'), job('b', [], { prio: 7 })], 1000)).toEqual({ refused: Status.LEVELS_MISMATCH, detail: '2' });
    await addFlow([job('one', [`E${root}`])], 2);
    expect(await lua.store.addFlow([job('two', [`E${root}`]), job('three', [`E${root}`])], 2)).toEqual({ refused: Status.TOO_MANY_DEPENDENTS, detail: root });
    // The one flow that was written: job 'one' (its hash and its deps hash), root's dependents set, and the
    // queue's blocked and linked sets, which no job needed before.
    expect(await lua.client.dbsize()).toBe(size + 5);
  });

  it('obliterate deletes the links with the jobs', async () => {
    await addFlow([job('A'), job('B', ['L1']), job('C', ['L2'], { policy: 'ignore' })]);
    while ((await lua.store.obliterate(true, 100)) > 0);
    const left = await lua.client.keys(`${lua.store.keys.base}*`);
    expect(left).toEqual([]);
  });
});

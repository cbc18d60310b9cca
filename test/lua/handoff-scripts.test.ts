import { describe, expect, it } from 'vitest';
import type { ClaimResult } from '../../src/redis/replies.js';
import { handedJob } from '../../src/redis/replies.js';
import { GROUP } from '../../src/redis/store.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';
import { commandCalls } from '../harness/commandstats.js';

// The handoff (lua/includes/handoff.lua, waiters.lua): a claim that finds nothing registers its slots as
// waiters; an add claims for the waiter that registered last, as its own claim would, and writes the job to
// its wake stream; the claim that ends the wait takes down the registration and brings what was handed.

const redis = useRedis();
const lua = useStore(redis);

const WAIT_MS = 6000;

function idle(reply: ClaimResult): Extract<ClaimResult, { kind: 'empty' | 'paused' }> {
  if (reply.kind !== 'empty' && reply.kind !== 'paused') throw new Error(`expected an idle reply, got ${reply.kind}`);
  return reply;
}

async function register(consumer: string, slots: number, wait = WAIT_MS): Promise<string> {
  return idle(await lua.store.claim(consumer, slots, 100, String(wait))).wakeFrom;
}

async function waiters(): Promise<string[]> {
  return lua.client.zrange(lua.store.keys.waiters, '0', '-1');
}

async function wakeEntries(consumer: string): Promise<ReturnType<typeof handedJob>[]> {
  const entries = (await lua.client.xrangeBuffer(lua.store.keys.wake(consumer), '-', '+')) as [Buffer, Buffer[]][];
  return entries.map(([id, fields]) => handedJob(id.toString(), fields));
}

async function pendingOf(consumer: string, level = 1): Promise<string[]> {
  const pending = (await lua.client.xpending(lua.store.keys.wait[level]!, GROUP, '-', '+', 100, consumer)) as [string, ...unknown[]][];
  return pending.map(([entry]) => entry);
}

async function eventTypes(): Promise<string[]> {
  const entries = await lua.client.xrange(lua.store.keys.events, '-', '+');
  const types: string[] = [];
  for (const [, fields] of entries) for (let i = 0; i < fields.length; i += 2) if (fields[i] === '') types.push(fields[i + 1]!);
  return types;
}

describe('handoff', () => {
  it('registers a claim that finds nothing, and hands the next add to it: claimed, counted and in its wake stream', async () => {
    expect(await register('a', 2)).toBe('0-0');
    expect(await waiters()).toEqual(['a#1', 'a#2']);

    const [added] = await lua.store.add([input({ name: 'send' })]);
    const handed = await wakeEntries('a');
    expect(handed).toHaveLength(1);
    const { job } = handed[0]!;
    expect(job).toMatchObject({ id: added!.id, name: 'send', entry: `${added!.id}-0`, stream: 1, attemptsStarted: 1 });
    expect(job.processedOn).toBeGreaterThan(0);
    // Exactly what a claim by 'a' would have made: pending for 'a', active 1, an active event.
    expect(await pendingOf('a')).toEqual([job.entry]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 1 });
    expect(await eventTypes()).toEqual(['added', 'active']);
    // One slot used; the other still waits.
    expect(await waiters()).toHaveLength(1);
  });

  it('hands off a labeled add as a plain one (add-labeled.lua), its labels indexed', async () => {
    await register('a', 1);
    const [added] = await lua.store.add([input({ name: 'tagged', labels: 'tenant:7' })]);
    expect((await wakeEntries('a')).map((h) => h.job.id)).toEqual([added!.id]);
    expect(await lua.client.zrange(lua.store.keys.label('tenant:7', 'q'), '0', '-1')).toEqual([added!.id]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 1 });
  });

  it("claims once per worker for all its slots an add call fills: one read of each level, not one per job", async () => {
    await register('a', 3);
    const before = (await commandCalls(lua.client)).get('xreadgroup') ?? 0;
    await lua.store.add([input({ name: 'j1' }), input({ name: 'j2' }), input({ name: 'j3' })]);
    // Level 0 read empty, then level 1 for the three: two XREADGROUP, where three claims of one made six.
    expect(((await commandCalls(lua.client)).get('xreadgroup') ?? 0) - before).toBe(2);
    expect((await wakeEntries('a')).map((h) => h.job.name)).toEqual(['j1', 'j2', 'j3']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 3 });
    expect(await waiters()).toEqual([]);
  });

  it('hands the jobs of one add call to the waiters in turn, the last registered first, lowest level first', async () => {
    await register('a', 1);
    await register('b', 1);
    await lua.store.add([input({ name: 'low', prio: 2 }), input({ name: 'high', prio: 0 }), input({ name: 'third' })]);
    const [toB, toA] = [await wakeEntries('b'), await wakeEntries('a')];
    expect(toB.map((h) => h.job.name)).toEqual(['high']);
    expect(toA.map((h) => h.job.name)).toEqual(['third']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, active: 2 });
    expect(await waiters()).toEqual([]);
  });

  it('hands nothing while the queue is paused or at its rate limit, and keeps the waiter for later', async () => {
    await register('a', 1);
    await lua.store.setPaused(true);
    await lua.store.add([input()]);
    expect(await wakeEntries('a')).toEqual([]);
    expect(await waiters()).toEqual(['a#1']);
    expect(await lua.store.getCounts()).toMatchObject({ paused: 1, active: 0 });

    await lua.store.setPaused(false);
    await lua.store.setRateLimit({ max: 1, duration: 60_000 });
    // The one start the window allows goes to the waiter; the next add finds the window full.
    await lua.store.add([input()]);
    expect(await wakeEntries('a')).toHaveLength(1);
    // Registering again starts a new wake stream: the job read before is gone from it.
    await register('a', 1);
    await lua.store.add([input()]);
    expect(await wakeEntries('a')).toEqual([]);
    expect(await waiters()).toEqual(['a#1']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, active: 1 });
  });

  it('hands nothing for a delayed job, and nothing to a registration that ran out', async () => {
    await register('a', 1);
    await lua.store.add([input({ delay: 60_000 })]);
    expect(await wakeEntries('a')).toEqual([]);
    expect(await waiters()).toEqual(['a#1']);

    await register('b', 1, 1);
    await register('a', 1, 1);
    await sleep(5);
    await lua.store.add([input()]);
    expect(await wakeEntries('a')).toEqual([]);
    expect(await wakeEntries('b')).toEqual([]);
    // Run out: dropped, not put back.
    expect(await waiters()).toEqual([]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, active: 0, delayed: 1 });
  });

  it('the claim that ends a wait takes the registration down and brings what was handed after the last read, counted once', async () => {
    const from = await register('a', 3);
    await lua.store.add([input({ name: 'one' }), input({ name: 'two' })]);
    const [first] = await wakeEntries('a');
    // The worker read the first; the second was handed after that read.
    const reply = await lua.store.claim('a', 3, 100, `${WAIT_MS}:3:2:${first!.wakeId}`);
    expect(from).toBe('0-0');
    if (reply.kind !== 'jobs') throw new Error(`expected jobs, got ${reply.kind}`);
    expect(reply.jobs.map((j) => j.name)).toEqual(['two']);
    expect(await waiters()).toEqual([]);
    expect(await lua.client.exists(lua.store.keys.wake('a'))).toBe(0);
    // Two handed, none claimed twice: active counts the two deliveries.
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 2 });
    expect(await pendingOf('a')).toHaveLength(2);
  });

  it('the claim that ends a wait with a count claims new jobs too, within the count left after the handed ones', async () => {
    await register('a', 2);
    await lua.store.add([input({ name: 'handed' })]);
    await lua.store.add([input({ name: 'handed too' })]);
    await lua.store.add([input({ name: 'waiting' })]);
    const reply = await lua.store.claim('a', 2, 100, `${WAIT_MS}:2:2:0-0`);
    if (reply.kind !== 'jobs') throw new Error(`expected jobs, got ${reply.kind}`);
    expect(reply.jobs.map((j) => j.name)).toEqual(['handed', 'handed too']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, active: 2 });

    const rest = await lua.store.claim('a', 1, 100, String(WAIT_MS));
    expect(rest.kind === 'jobs' && rest.jobs.map((j) => j.name)).toEqual(['waiting']);

    // count 0: the handed jobs alone, and no new registration (close and pause end a wait so).
    await register('b', 1);
    await lua.store.add([input({ name: 'to b' })]);
    const leave = await lua.store.claim('b', 0, 0, '0:1:1:0-0');
    if (leave.kind !== 'jobs') throw new Error(`expected jobs, got ${leave.kind}`);
    expect(leave.jobs.map((j) => j.name)).toEqual(['to b']);
    expect(await waiters()).toEqual([]);
  });

  it('the claim that ends a wait takes down every slot it registered, whichever an add took (12 slots)', async () => {
    await register('a', 12);
    await lua.store.add([input({ name: 'one' })]);
    // Members of equal score pop in reverse lexical order: 'a#9' went first, not 'a#12'.
    expect(await waiters()).not.toContain('a#9');
    // The worker read it: 11 slots unread; its claim names all 12, so 'a#10' to 'a#12' go too.
    const [read] = await wakeEntries('a');
    const reply = await lua.store.claim('a', 11, 100, `0:12:11:${read!.wakeId}`);
    expect(reply.kind).toBe('empty');
    expect(await waiters()).toEqual([]);
    // Nothing more was handed: the stream is left for the next registration to delete.
    expect(await wakeEntries('a')).toHaveLength(1);
  });

  it('a wait that ends with nothing handed leaves nothing: no wake stream, no waiter', async () => {
    await register('a', 2);
    const reply = idle(await lua.store.claim('a', 2, 100, `0:2:2:0-0`));
    expect(reply.wakeFrom).toBe('');
    expect(await waiters()).toEqual([]);
    expect(await lua.client.exists(lua.store.keys.wake('a'))).toBe(0);
  });

  it('hands a grouped job within its group limit, as a claim admits it', async () => {
    await lua.store.setGroupLimit('g', { concurrency: 1 });
    await register('a', 1);
    await register('b', 1);
    await lua.store.add([input({ group: 'g', name: 'g1' }), input({ group: 'g', name: 'g2' })]);
    const all = [...(await wakeEntries('a')), ...(await wakeEntries('b'))];
    expect(all.map((h) => [h.job.name, h.job.group])).toEqual([['g1', 'g']]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, active: 1 });
  });

  it('obliterate leaves neither the waiters nor the wake streams of the workers alive', async () => {
    await lua.store.extendLeases('a', [], { ttl: 60_000, info: '{}' });
    await register('a', 2);
    await lua.store.add([input()]);
    expect(await wakeEntries('a')).toHaveLength(1);
    while ((await lua.store.obliterate(true, 100)) > 0);
    const left = await lua.client.keys(`${lua.store.keys.base.replace(/[{}]/g, '\\$&')}*`);
    expect(left).toEqual([]);
  });

  it('registers nothing when asked not to, or when the claim found the queue paused', async () => {
    expect(idle(await lua.store.claim('a', 1, 100, '0')).wakeFrom).toBe('');
    await lua.store.setPaused(true);
    const paused = idle(await lua.store.claim('a', 1, 100, String(WAIT_MS)));
    expect(paused.kind).toBe('paused');
    expect(paused.wakeFrom).toBe('');
    expect(await waiters()).toEqual([]);
  });
});

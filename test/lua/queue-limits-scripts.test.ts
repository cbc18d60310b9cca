import { describe, expect, it } from 'vitest';
import type { ClaimResult } from '../../src/redis/replies.js';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { KEEP_ALL } from '../../src/options.js';
import { ControlStore } from '../../src/redis/control-store.js';
import { commandCalls } from '../harness/commandstats.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

const jobsOf = (claimed: ClaimResult): ClaimedJob[] => (claimed.kind === 'jobs' ? claimed.jobs : []);
const claim = async (count: number, consumer = 'a'): Promise<ClaimedJob[]> => jobsOf(await lua.store.claim(consumer, count, 100));
const complete = (jobs: ClaimedJob[]) => lua.store.complete(jobs.map((job) => ({ job, result: Buffer.alloc(0), keep: KEEP_ALL })));
const fail = (jobs: ClaimedJob[], retryDelay: number) =>
  lua.store.fail(jobs.map((job) => ({ job, retryDelay, reason: 'no', stack: '', keep: KEEP_ALL })));
/** Meta `active` as stored: the deliveries, plus ACTIVE_WAITING while a refused claim waits (lua/includes/active.lua). */
const ACTIVE_WAITING = 2 ** 40;
const storedActive = async (): Promise<number> => Number(await lua.client.hget(lua.store.keys.meta, 'active'));
const active = async (): Promise<number> => (await storedActive()) % ACTIVE_WAITING;
const waitedOn = async (): Promise<boolean> => (await storedActive()) >= ACTIVE_WAITING;
/** The ctl entries written since `after` that wake workers waiting for a slot. */
const slotWakes = async (after: string): Promise<number> =>
  (await lua.client.xrange(lua.store.keys.ctl, `(${after}`, '+')).filter(([, fields]) => fields[0] === 'slots').length;
const lastCtl = async (): Promise<string> => (await lua.client.xrevrange(lua.store.keys.ctl, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';

async function callsDuring(action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCalls(lua.client);
  await action();
  const out: Record<string, number> = {};
  for (const [name, n] of await commandCalls(lua.client)) if (n !== (before.get(name) ?? 0)) out[name] = n - (before.get(name) ?? 0);
  return out;
}

describe('what a queue without them pays', () => {
  it('reads and writes nothing more on a claim or a settle, whether it claims or not', async () => {
    await lua.store.add(Array.from({ length: 6 }, () => input()));
    const claiming = await callsDuring(() => lua.store.claim('a', 2, 100));
    // Claim's HMGET of meta and nothing of these: no HGET, no HDEL, no TIME beyond the clock's one.
    expect([claiming.hmget, claiming.hget, claiming.hdel, claiming.time]).toEqual([1, undefined, undefined, 1]);
    const [a, b] = await claim(2);
    // A complete that claims nothing: HGET of meta `linked` (dependents.lua); whether anyone waits for a
    // slot is in the reply of the HINCRBY of `active` it makes anyway (nobody: nothing written to ctl).
    const ctlBefore = await lastCtl();
    const completeAlone = await callsDuring(() => complete([a!]));
    expect([completeAlone.hmget, completeAlone.hget, completeAlone.hdel]).toEqual([undefined, 1, undefined]);
    expect(await lastCtl()).toBe(ctlBefore);
    const completeClaiming = await callsDuring(() =>
      lua.store.complete([{ job: b!, result: Buffer.alloc(0), keep: KEEP_ALL }], { consumer: 'a', count: 1, promoteLimit: 100 }),
    );
    expect([completeClaiming.hmget, completeClaiming.hget, completeClaiming.hdel]).toEqual([1, undefined, undefined]);
    const [c] = await claim(1);
    const failing = await callsDuring(() => fail([c!], 0));
    expect([failing.hdel, failing.hget]).toEqual([undefined, undefined]);
  });
});

describe('queue-wide concurrency', () => {
  it('hands out at most n jobs across consumers claiming at once, and refuses the rest until a slot frees', async () => {
    await lua.store.setConcurrency(3);
    await lua.store.add(Array.from({ length: 20 }, () => input()));
    const claims = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((consumer) => lua.store.claim(consumer, 5, 100)));
    expect(claims.flatMap(jobsOf)).toHaveLength(3);
    expect(await active()).toBe(3);
    // Refused at the concurrency: PAUSED, so the worker waits on ctl alone (an add cannot let it start).
    const refused = await lua.store.claim('f', 5, 100);
    expect(refused.kind).toBe('paused');
    expect(await waitedOn()).toBe(true);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 17, active: 3 });
    expect(await lua.store.getMetrics()).toMatchObject({ active: 3 });
    // A second refusal keeps the one mark.
    expect((await lua.store.claim('g', 5, 100)).kind).toBe('paused');
    expect(await storedActive()).toBe(ACTIVE_WAITING + 3);
  });

  it('frees a slot on complete, fail and release, and wakes the waiting workers once per refusal', async () => {
    await lua.store.setConcurrency(2);
    await lua.store.add(Array.from({ length: 10 }, () => input()));
    const [a, b] = await claim(5);
    expect((await lua.store.claim('other', 5, 100)).kind).toBe('paused');

    let mark = await lastCtl();
    await complete([a!]);
    expect(await slotWakes(mark)).toBe(1);
    expect(await storedActive()).toBe(1);
    const [c] = await claim(5, 'other');
    expect(c).toBeDefined();
    expect(await claim(5)).toHaveLength(0);

    mark = await lastCtl();
    await fail([b!], -1);
    expect(await slotWakes(mark)).toBe(1);
    const [d] = await claim(5);
    expect(await claim(5)).toHaveLength(0);

    mark = await lastCtl();
    await fail([c!], 0);
    expect(await slotWakes(mark)).toBe(1);
    const [e] = await claim(5);
    expect(await claim(5)).toHaveLength(0);

    mark = await lastCtl();
    await lua.store.release([{ job: d!, holdMs: 0 }]);
    expect(await slotWakes(mark)).toBe(1);
    expect(await claim(5)).toHaveLength(1);
    // A settle with nobody refused since the last wake writes nothing to ctl.
    mark = await lastCtl();
    await complete([e!]);
    expect(await slotWakes(mark)).toBe(0);
  });

  it('lets a complete that claims too take exactly the slots its settle freed, and wake others for the rest', async () => {
    await lua.store.setConcurrency(3);
    await lua.store.add(Array.from({ length: 10 }, () => input()));
    const held = await claim(3);
    expect((await lua.store.claim('other', 5, 100)).kind).toBe('paused');
    const mark = await lastCtl();
    const settled = (jobs: ClaimedJob[], count: number) =>
      lua.store.complete(
        jobs.map((job) => ({ job, result: Buffer.alloc(0), keep: KEEP_ALL })),
        { consumer: 'a', count, promoteLimit: 100 },
      );
    // Two slots freed, one claimed back in the same call: the other is left for the waiting worker.
    const reply = await settled(held.slice(0, 2), 1);
    expect(reply.claimed && jobsOf(reply.claimed)).toHaveLength(1);
    expect(await active()).toBe(2);
    expect(await slotWakes(mark)).toBe(1);
    // One freed, and the slot left free before: both claimed in the same call, the cap holds, no wake.
    const again = await settled(held.slice(2), 5);
    expect(again.claimed && jobsOf(again.claimed)).toHaveLength(2);
    expect(await active()).toBe(3);
    expect(await slotWakes(mark)).toBe(1);
    expect((await lua.store.claim('other', 5, 100)).kind).toBe('paused');
  });

  it('wakes the waiting workers from a complete that claims too but is held by the rate limit', async () => {
    await lua.store.setRateLimit({ max: 3, duration: 60_000 });
    await lua.store.setConcurrency(2);
    await lua.store.add(Array.from({ length: 5 }, () => input()));
    const held = await claim(5);
    expect(held).toHaveLength(2);
    expect((await lua.store.claim('other', 5, 100)).kind).toBe('paused');
    const mark = await lastCtl();
    const completeClaiming = (job: ClaimedJob) =>
      lua.store.complete([{ job, result: Buffer.alloc(0), keep: KEEP_ALL }], { consumer: 'a', count: 1, promoteLimit: 100 });
    // Takes back the one slot it freed, the window's last start: nobody to wake.
    const first = await completeClaiming(held[0]!);
    expect(first.claimed && jobsOf(first.claimed)).toHaveLength(1);
    expect(await slotWakes(mark)).toBe(0);
    // The window is spent, so this claim never reads `active`; the slot it freed must still wake 'other'.
    const second = await completeClaiming(held[1]!);
    expect(second.claimed && jobsOf(second.claimed)).toHaveLength(0);
    expect(await slotWakes(mark)).toBe(1);
    expect(await storedActive()).toBe(1);
  });

  it('takes the mark of a waiting claim off when the concurrency is changed, and wakes the waiters', async () => {
    await lua.store.setConcurrency(1);
    await lua.store.add(Array.from({ length: 3 }, () => input()));
    expect(await claim(5)).toHaveLength(1);
    expect((await lua.store.claim('other', 5, 100)).kind).toBe('paused');
    expect(await waitedOn()).toBe(true);
    const mark = await lastCtl();
    await lua.store.setConcurrency(null);
    expect(await storedActive()).toBe(1);
    expect(await lua.client.xrange(lua.store.keys.ctl, `(${mark}`, '+')).toHaveLength(1);
    expect(await claim(5, 'other')).toHaveLength(2);
    expect(await lua.store.getCounts()).toMatchObject({ active: 3, waiting: 0 });
  });

  it('frees the slots of stalled deliveries when they are recovered', async () => {
    await lua.store.setConcurrency(2);
    await lua.store.add(Array.from({ length: 5 }, () => input()));
    expect(await claim(5, 'dead')).toHaveLength(2);
    expect((await lua.store.claim('live', 5, 100)).kind).toBe('paused');
    const mark = await lastCtl();
    expect(await lua.store.recoverStalled('reaper', 0, 5, 100)).toMatchObject({ requeued: 2 });
    expect(await slotWakes(mark)).toBe(1);
    expect(await claim(5, 'live')).toHaveLength(2);
    expect(await active()).toBe(2);
  });

  it('frees the slot of a running job that is cancelled', async () => {
    await lua.store.setConcurrency(1);
    await lua.store.add(Array.from({ length: 3 }, () => input()));
    const [running] = await claim(5);
    expect((await lua.store.claim('other', 5, 100)).kind).toBe('paused');
    const mark = await lastCtl();
    expect((await ControlStore.of(lua.store).cancel(running!.id, 'stop')).status).toBe(Status.OK);
    expect(await slotWakes(mark)).toBe(1);
    expect(await claim(5, 'other')).toHaveLength(1);
    expect(await active()).toBe(1);
  });

  it('counts grouped jobs too, holds a lowered concurrency until enough settle, and is removed without touching the rate limit', async () => {
    await lua.store.setRateLimit({ max: 100, duration: 60_000 });
    await lua.store.setConcurrency(4);
    await lua.store.add([...Array.from({ length: 3 }, (_, i) => input({ group: 'g', jobId: `g-${i}` })), input(), input(), input()]);
    const first = await claim(10);
    expect(first).toHaveLength(4);
    expect(first.some((job) => job.id.startsWith('g-'))).toBe(true);
    await lua.store.setConcurrency(2);
    await complete(first.slice(0, 1));
    expect(await claim(10)).toHaveLength(0);
    await complete(first.slice(1, 2));
    expect(await claim(10)).toHaveLength(0);
    await complete(first.slice(2, 3));
    expect(await claim(10)).toHaveLength(1);
    expect(await lua.store.queueLimits()).toEqual({ rate: { max: 100, duration: 60_000 }, concurrency: 2 });
    await lua.store.setConcurrency(null);
    expect(await lua.store.queueLimits()).toEqual({ rate: { max: 100, duration: 60_000 }, concurrency: null });
    // A sliding window alone is stored as before concurrency existed: what an older claim reads.
    expect(await lua.client.hmget(lua.store.keys.meta, 'rlmax', 'rldur')).toEqual(['100', '60000']);
    expect(await claim(10)).toHaveLength(1);
  });

  it('keeps the stored form of a queue without limits and of a sliding window alone', async () => {
    await lua.store.setConcurrency(5);
    await lua.store.setConcurrency(null);
    expect(await lua.client.hmget(lua.store.keys.meta, 'rlmax', 'rldur', 'rltat')).toEqual([null, null, null]);
    await lua.store.setRateLimit({ max: 7, duration: 1000 });
    await lua.store.setConcurrency(3);
    expect(await lua.client.hmget(lua.store.keys.meta, 'rlmax', 'rldur')).toEqual(['7 -1 3', '1000']);
    await lua.store.setRateLimit(null);
    expect(await lua.client.hmget(lua.store.keys.meta, 'rlmax', 'rldur')).toEqual(['0 -1 3', null]);
    expect(await lua.store.queueLimits()).toEqual({ rate: null, concurrency: 3 });
  });
});

/** Starts of a smooth limit: GCRA's guarantee, that starts i < j are at least (j - i - burst + 1) spacings apart. */
function expectSpaced(starts: number[], spacing: number, burst: number): void {
  const sorted = [...starts].sort((x, y) => x - y);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + burst; j < sorted.length; j++) {
      // processedOn is Redis' time floored to the ms: 1 ms of slack for that, no more.
      expect(sorted[j]! - sorted[i]!).toBeGreaterThanOrEqual((j - i - burst + 1) * spacing - 1);
    }
  }
}

async function claimFor(ms: number, each: number): Promise<ClaimedJob[]> {
  const got: ClaimedJob[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    got.push(...(await claim(each)));
    await sleep(3);
  }
  return got;
}

describe('smooth rate limits', () => {
  it('spaces a queue\'s starts duration / max apart, says when the next may start, and keeps one time in meta', async () => {
    await lua.store.setRateLimit({ max: 20, duration: 1000, smooth: true });
    await lua.store.add(Array.from({ length: 40 }, () => input()));
    expect(await claim(10)).toHaveLength(1);
    const refused = await lua.store.claim('a', 10, 100);
    expect(refused.kind).toBe('empty');
    if (refused.kind === 'empty') expect(refused.nextDueMs).toBeGreaterThan(0);
    if (refused.kind === 'empty') expect(refused.nextDueMs).toBeLessThanOrEqual(50);
    const got = await claimFor(600, 10);
    expect(got.length).toBeGreaterThanOrEqual(8);
    expectSpaced(got.map((job) => job.processedOn), 50, 1);
    expect(Number(await lua.client.hget(lua.store.keys.meta, 'rltat'))).toBeGreaterThan(0);
    // No log of starts: that is the sliding window's.
    expect(await lua.client.exists(lua.store.keys.rate)).toBe(0);
  });

  it('lets a burst start at once after a pause, then spaces the rest', async () => {
    await lua.store.setRateLimit({ max: 10, duration: 1000, smooth: true, burst: 4 });
    await lua.store.add(Array.from({ length: 20 }, () => input()));
    const burst = await claim(10);
    expect(burst).toHaveLength(4);
    const got = [...burst, ...(await claimFor(450, 10))];
    expect(got.length).toBeGreaterThanOrEqual(7);
    expectSpaced(got.map((job) => job.processedOn), 100, 4);
    expect(await lua.store.getRateLimit()).toEqual({ max: 10, duration: 1000, smooth: true, burst: 4 });
  });

  it('counts grouped starts and keeps the queue\'s concurrency beside it', async () => {
    await lua.store.setConcurrency(10);
    await lua.store.setRateLimit({ max: 10, duration: 1000, smooth: true, burst: 2 });
    await lua.store.add([input({ group: 'g', jobId: 'g-0' }), input({ group: 'h', jobId: 'h-0' }), input()]);
    expect(await claim(10)).toHaveLength(2);
    expect(await claim(10)).toHaveLength(0);
    expect(await lua.store.queueLimits()).toEqual({ rate: { max: 10, duration: 1000, smooth: true, burst: 2 }, concurrency: 10 });
    await lua.store.setRateLimit(null);
    expect(await lua.client.hexists(lua.store.keys.meta, 'rltat')).toBe(0);
    expect(await claim(10)).toHaveLength(1);
  });

  it('spaces a group\'s starts and holds only that group', async () => {
    await lua.store.setGroupLimit('slow', { max: 10, duration: 1000, smooth: true, burst: 2 });
    await lua.store.add([
      ...Array.from({ length: 10 }, (_, i) => input({ group: 'slow', jobId: `slow-${i}` })),
      ...Array.from({ length: 5 }, (_, i) => input({ group: 'free', jobId: `free-${i}` })),
    ]);
    const first = await claim(20);
    expect(first.filter((job) => job.id.startsWith('free-'))).toHaveLength(5);
    expect(first.filter((job) => job.id.startsWith('slow-'))).toHaveLength(2);
    expect(await lua.store.getGroup('slow')).toMatchObject({ state: 'throttled' });
    const slow = [...first.filter((job) => job.id.startsWith('slow-')), ...(await claimFor(350, 10))];
    expect(slow.length).toBeGreaterThanOrEqual(4);
    expectSpaced(slow.map((job) => job.processedOn), 100, 2);
    expect((await lua.store.getGroupLimits()).get('slow')).toEqual({ max: 10, duration: 1000, smooth: true, burst: 2 });
    // The group's tat is a key that expires at the tat itself (a spacing of 100 ms may be gone before a slow
    // machine looks): with a minute's spacing, the next start leaves it there, expiring a minute on.
    await lua.store.setGroupLimit('slow', { max: 1, duration: 60_000, smooth: true, burst: 1 });
    let next: ClaimedJob[] = [];
    for (let tries = 0; next.length === 0 && tries < 100; tries++) next = await claimFor(50, 10);
    expect(next.map((job) => job.id.startsWith('slow-'))).toEqual([true]);
    const tatKey = `${lua.store.keys.base}group:slow:tat`;
    const [tat, expiresAt] = await Promise.all([lua.client.get(tatKey), lua.client.call('PEXPIRETIME', tatKey)]);
    expect(Math.abs(Number(expiresAt) - Number(tat))).toBeLessThanOrEqual(1);
    expect(Number(tat) - next[0]!.processedOn).toBeGreaterThan(59_000);
    while ((await lua.store.obliterate(true, 1000)) > 0);
    expect(await lua.client.keys(`${lua.store.keys.base.replace(/[{}]/g, '\\$&')}*`)).toEqual([]);
  });

  it('keeps a sliding group rule in the three numbers an older sluice reads', async () => {
    await lua.store.setGroupLimit('', { max: 5, duration: 1000, concurrency: 2 });
    expect(await lua.client.hget(lua.store.keys.groups[5], '')).toBe('5 1000 2');
    await lua.store.setGroupLimit('', { max: 5, duration: 1000, smooth: true, burst: 3 });
    expect(await lua.client.hget(lua.store.keys.groups[5], '')).toBe('5 1000 -1 3');
  });
});

// A partitioned queue's queue-wide concurrency and rate limit as shares that follow the load
// (src/partitions/shares.ts): with all the load on one partition its share grows past the even split, the
// shares never add up to more than the queue's value, and the queue never runs or starts more than that; a
// move cut in half (a lower without its raise) is repaired by the next rebalance, and the raise that never
// came is refused if it comes late. One Redis: a MULTI reads every partition's meta in one instant.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'sluice';
import { queueKeys } from '../../src/keys.js';
import { queueLimitsOf } from '../../src/redis/limit-rules.js';
import { ShareStore } from '../../src/redis/share-store.js';
import { Status } from '../../src/redis/status.js';
import { partitionOfGroup, partitionOfId } from '../../src/partitions/routing.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

const redis = useRedis();
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
});

const PARTS = 3;
const options = (): { connection: { url: string }; partitions: number; redisConfig: 'off' } => ({
  connection: redis.connection,
  partitions: PARTS,
  redisConfig: 'off',
});
/** Rebalance every 50 ms (the heartbeat interval), so the test does not wait 10 s for a move. */
const fast = (): ReturnType<typeof options> & { heartbeatInterval: number } => ({ ...options(), heartbeatInterval: 50 });

const keysOf = (name: string): ReturnType<typeof queueKeys>[] =>
  Array.from({ length: PARTS }, (_, p) => queueKeys(name, 'sluice', 3, { index: p, count: PARTS }));

interface Sample {
  concurrency: number[];
  rate: number[];
  active: number[];
}

/** Every partition's shares and running jobs at one instant (one MULTI on one server). */
async function sample(name: string): Promise<Sample> {
  const multi = admin.multi();
  for (const keys of keysOf(name)) multi.hmget(keys.meta, 'rlmax', 'rldur', 'active');
  const replies = (await multi.exec()) ?? [];
  const out: Sample = { concurrency: [], rate: [], active: [] };
  for (const [error, value] of replies) {
    if (error !== null) throw error;
    const [rlmax = null, rldur = null, active = null] = value as (string | null)[];
    const limits = queueLimitsOf(rlmax, rldur);
    out.concurrency.push(limits.concurrency ?? 0);
    out.rate.push(limits.rate?.max ?? 0);
    // Without the wait mark (2^40: lua/includes/active.lua).
    out.active.push(Number(active ?? 0) % 2 ** 40);
  }
  return out;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Samples until stopped; what it saw. */
function sampler(name: string): { samples: Sample[]; stop: () => Promise<void> } {
  const samples: Sample[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      samples.push(await sample(name));
      await sleep(5);
    }
  })();
  return {
    samples,
    stop: async () => {
      on = false;
      await loop;
    },
  };
}

/** A group whose jobs go to partition `p`. */
function groupOn(p: number): string {
  for (let i = 0; ; i++) if (partitionOfGroup(`tenant-${i}`, PARTS) === p) return `tenant-${i}`;
}

describe('limit shares that follow the load', () => {
  it('moves concurrency to the busy partition; the shares never add up to more than 6, nor do running jobs', async () => {
    const name = uniqueQueue('shares-concurrency');
    const queue = new Queue(name, options());
    await queue.setConcurrency(6);
    const busy = partitionOfGroup(groupOn(1), PARTS);
    let running = 0;
    let most = 0;
    const worker = new Worker(
      name,
      async () => {
        running++;
        most = Math.max(most, running);
        await sleep(20);
        running--;
      },
      { ...fast(), concurrency: 20 },
    );
    const watch = sampler(name);
    await queue.addBulk(Array.from({ length: 150 }, () => ({ name: 'x', data: {}, opts: { group: groupOn(1) } })));
    // A few plain jobs: every partition runs something now and then.
    await queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'y', data: {} })));
    await waitFor('the busy partition past its even share', async () => (await sample(name)).concurrency[busy]! > 2);
    await waitFor('every job done', async () => (await queue.getCounts()).completed === 156, 30_000);
    await watch.stop();
    expect(await queue.getConcurrency()).toBe(6);
    expect(watch.samples.length).toBeGreaterThan(20);
    expect(Math.max(...watch.samples.map((s) => s.concurrency[busy]!))).toBeGreaterThan(2);
    for (const s of watch.samples) {
      expect(sum(s.concurrency)).toBeLessThanOrEqual(6);
      expect(Math.min(...s.concurrency)).toBeGreaterThanOrEqual(1);
      expect(sum(s.active)).toBeLessThanOrEqual(6);
    }
    expect(most).toBeLessThanOrEqual(6);
    // Once the load is gone, the shares add up to the total again (nothing was lost on the way).
    await waitFor('the shares adding up to 6', async () => sum((await sample(name)).concurrency) === 6);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('moves a sliding window to the busy partition; no window of Redis time holds more than max starts', async () => {
    const name = uniqueQueue('shares-rate');
    const queue = new Queue(name, options());
    await queue.setRateLimit({ max: 6, duration: 500 });
    const busy = partitionOfGroup(groupOn(2), PARTS);
    const worker = new Worker(name, async () => undefined, { ...fast(), concurrency: 20 });
    const watch = sampler(name);
    await queue.addBulk(Array.from({ length: 40 }, () => ({ name: 'x', data: {}, opts: { group: groupOn(2) } })));
    await queue.addBulk(Array.from({ length: 6 }, () => ({ name: 'y', data: {} })));
    await waitFor('the busy partition past its even share', async () => (await sample(name)).rate[busy]! > 2);
    await waitFor('every job done', async () => (await queue.getCounts()).completed === 46, 30_000);
    await watch.stop();
    expect(await queue.getRateLimit()).toEqual({ max: 6, duration: 500 });
    for (const s of watch.samples) {
      expect(sum(s.rate)).toBeLessThanOrEqual(6);
      expect(Math.min(...s.rate)).toBeGreaterThanOrEqual(1);
    }
    const jobs = await queue.getJobs('completed', 0, 45);
    const starts = jobs.map((job: Job) => job.processedOn!).sort((a, b) => a - b);
    expect(starts).toHaveLength(46);
    expect(new Set(jobs.map((job) => partitionOfId(job.id, PARTS))).size).toBe(PARTS);
    // In any window of 500 ms of Redis' clock (one server here), at most 6 starts across the partitions.
    for (const from of starts) expect(starts.filter((at) => at >= from && at < from + 500).length).toBeLessThanOrEqual(6);
    // With the even split (2 per 500 ms) the busy partition's 40 jobs take 9.5 s at least; the moved share
    // is what makes them start faster than 2 a window somewhere.
    const busyStarts = jobs.filter((job) => partitionOfId(job.id, PARTS) === busy).map((job) => job.processedOn!);
    expect(Math.max(...busyStarts.map((from) => busyStarts.filter((at) => at >= from && at < from + 500).length))).toBeGreaterThan(2);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('repairs a move cut in half, and refuses the raise that comes after the repair', async () => {
    const name = uniqueQueue('shares-crash');
    const queue = new Queue(name, options());
    await queue.setConcurrency(6);
    const stores = keysOf(name).map((keys) => new ShareStore(admin, keys));
    const before = await stores[1]!.read();
    expect(before.concurrency).toMatchObject({ share: 2, total: 6 });
    // The first half of a move, as a rebalancer that dies before its raise leaves it.
    const lowered = await stores[1]!.lower('concurrency', 1, before.concurrency.epoch);
    expect(lowered).toEqual({ status: Status.OK, share: 1, used: 0 });
    expect(sum((await sample(name)).concurrency)).toBe(5);
    // The queue's value is its pool's total, not the shares added up.
    expect(await queue.getConcurrency()).toBe(6);
    // Below 1 a share is not lowered: a partition never stops for good.
    expect((await stores[1]!.lower('concurrency', 1, before.concurrency.epoch)).status).toBe(Status.STALE);
    const worker = new Worker(name, async () => undefined, fast());
    await waitFor('the lost budget handed out again', async () => sum((await sample(name)).concurrency) === 6);
    const after = await stores[0]!.read();
    expect(after.concurrency.epoch).toBeGreaterThan(before.concurrency.epoch);
    // The dead rebalancer's raise, late: its epoch is gone, so it adds nothing.
    expect((await stores[2]!.raise('concurrency', 1, before.concurrency.epoch)).status).toBe(Status.STALE);
    expect(sum((await sample(name)).concurrency)).toBe(6);
    await worker.close();
    // A set with the same total keeps the shares where they are; another total starts from the even split.
    await queue.setConcurrency(6);
    expect((await stores[0]!.read()).concurrency.epoch).toBe(after.concurrency.epoch);
    await queue.setConcurrency(9);
    expect((await sample(name)).concurrency).toEqual([3, 3, 3]);
    await queue.removeConcurrency();
    expect(await queue.getConcurrency()).toBeNull();
    expect((await sample(name)).concurrency).toEqual([0, 0, 0]);
    await queue.obliterate();
    await queue.close();
  });

  it('a share lowered below the jobs its partition runs holds new starts back until they fit', async () => {
    const name = uniqueQueue('shares-drain');
    const queue = new Queue(name, options());
    await queue.setConcurrency(6);
    const gates: (() => void)[] = [];
    // The default heartbeat (10 s): this Worker's rebalancer does not run during the test.
    const worker = new Worker(name, () => new Promise<void>((resolve) => gates.push(resolve)), { ...options(), concurrency: 20 });
    const group = groupOn(1);
    const p = partitionOfGroup(group, PARTS);
    await queue.addBulk(Array.from({ length: 5 }, () => ({ name: 'x', data: {}, opts: { group } })));
    await waitFor('two running (the share of 2)', () => gates.length === 2);
    const store = new ShareStore(admin, keysOf(name)[p]!);
    const { epoch } = (await store.read()).concurrency;
    // The lower's reply says the budget is still in use: a rebalancer raises no one yet.
    expect(await store.lower('concurrency', 1, epoch)).toEqual({ status: Status.OK, share: 1, used: 2 });
    gates.shift()!();
    await waitFor('one done', async () => (await queue.getCounts()).completed === 1);
    await sleep(200);
    // 1 running, share 1: nothing new started.
    expect(gates.length).toBe(1);
    expect((await sample(name)).active[p]).toBe(1);
    expect((await store.read()).concurrency).toMatchObject({ share: 1, used: 1 });
    gates.shift()!();
    await waitFor('the next one started', () => gates.length === 1 && gates[0] !== undefined);
    await waitFor('two done', async () => (await queue.getCounts()).completed === 2);
    expect((await sample(name)).active[p]).toBe(1);
    while ((await queue.getCounts()).completed < 5) {
      gates.splice(0).forEach((open) => open());
      await sleep(20);
    }
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('set-share: a set older than the pool, and a repair that read another epoch, write nothing', async () => {
    const name = uniqueQueue('shares-epochs');
    const queue = new Queue(name, options());
    await queue.setConcurrency(6);
    const store = new ShareStore(admin, keysOf(name)[0]!);
    const { epoch } = (await store.read()).concurrency;
    const write = { kind: 'concurrency' as const, total: 6, share: 1, duration: 0, burst: -1 };
    expect(await store.set({ ...write, epoch: epoch - 1 })).toEqual({ status: Status.STALE, share: 0, used: 0 });
    expect(await store.set({ ...write, epoch: epoch + 1, expect: epoch - 1 })).toEqual({ status: Status.STALE, share: 0, used: 0 });
    expect((await store.read()).concurrency).toMatchObject({ share: 2, epoch });
    // The repair that read this epoch goes through, and only lowers: 5 asked, 2 written.
    expect(await store.set({ ...write, share: 5, epoch: epoch + 1, expect: epoch })).toEqual({ status: Status.OK, share: 2, used: 0 });
    expect((await store.read()).concurrency).toMatchObject({ share: 2, epoch: epoch + 1 });
    // A move of the old epoch is refused both ways.
    expect((await store.lower('concurrency', 1, epoch)).status).toBe(Status.STALE);
    expect((await store.raise('concurrency', 1, epoch)).status).toBe(Status.STALE);
    await queue.obliterate();
    await queue.close();
  });
});

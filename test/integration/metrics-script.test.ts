import { describe, expect, it } from 'vitest';
import { KEEP_ALL } from '../../src/options.js';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from '../lua/store.js';
import { callsSoFar, SCRIPT_CALLS } from '../harness/commandstats.js';

/** lua/metrics.lua through QueueStore#getMetrics: each number against a state built step by step. */
const redis = useRedis();
const lua = useStore(redis);

async function claim(count: number): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim('metrics-test', count, 100);
  return claimed.kind === 'jobs' ? claimed.jobs : [];
}

const done = (job: ClaimedJob) => ({ job, result: Buffer.from('r'), keep: KEEP_ALL });
const failed = (job: ClaimedJob, retryDelay: number) => ({ job, retryDelay, reason: 'boom', stack: '', keep: KEEP_ALL });

async function redisMs(): Promise<number> {
  const [seconds, micros] = await lua.client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('metrics script', () => {
  it('reports waiting per level, active, delayed and the retained sets, agreeing with getCounts', async () => {
    await lua.store.add([
      ...['a', 'b', 'c'].map((jobId) => input({ jobId, prio: 0 })),
      ...['d', 'e'].map((jobId) => input({ jobId, prio: 1 })),
      input({ jobId: 'f', prio: 2 }),
      input({ jobId: 'later', delay: 60_000 }),
    ]);
    expect(await lua.store.getMetrics()).toMatchObject({ waitingByLevel: [3, 2, 1], waiting: 6, active: 0, delayed: 1, completed: 0, failed: 0 });

    const [a, b, c] = await claim(3);
    expect([a?.id, b?.id, c?.id]).toEqual(['a', 'b', 'c']);
    expect(await lua.store.getMetrics()).toMatchObject({ waitingByLevel: [0, 2, 1], waiting: 3, active: 3 });

    expect((await lua.store.complete([done(a!)])).statuses).toEqual([Status.OK]);
    expect((await lua.store.fail([failed(b!, -1)])).statuses).toEqual([Status.OK]);
    // A retry is not a failure for good: back on its level's stream, not counted in failedTotal.
    expect((await lua.store.fail([failed(c!, 0)])).statuses).toEqual([Status.OK]);
    const metrics = await lua.store.getMetrics();
    expect(metrics).toMatchObject({
      waitingByLevel: [1, 2, 1],
      waitingGrouped: 0,
      active: 0,
      delayed: 1,
      completed: 1,
      failed: 1,
      completedTotal: 1,
      failedTotal: 1,
      paused: 0,
      isPaused: false,
      limited: 0,
      limitedGroups: 0,
    });
    const counts = await lua.store.getCounts();
    expect({ waiting: metrics.waiting, active: metrics.active, delayed: metrics.delayed, completed: metrics.completed, failed: metrics.failed }).toEqual({
      waiting: counts.waiting,
      active: counts.active,
      delayed: counts.delayed,
      completed: counts.completed,
      failed: counts.failed,
    });
  });

  it('counts totals per settle batch, past what retention keeps, and stalled failures', async () => {
    await lua.store.add(Array.from({ length: 6 }, () => input()));
    const jobs = await claim(6);
    // Retention keeps one completed job; the total still counts all four.
    const keepOne = { count: 1, age: -1 };
    await lua.store.complete(jobs.slice(0, 4).map((job) => ({ ...done(job), keep: keepOne })));
    expect(await lua.store.getMetrics()).toMatchObject({ completed: 1, completedTotal: 4, failedTotal: 0 });
    // Stalled past maxStalled 0: failed for good by recover-stalled.
    await sleep(30);
    expect(await lua.store.recoverStalled('reaper', 10, 0, 100)).toEqual({ requeued: 0, failed: 2, strays: [] });
    expect(await lua.store.getMetrics()).toMatchObject({ active: 0, failed: 2, failedTotal: 2, completedTotal: 4 });
  });

  it('reports the age of the oldest undelivered job from its entry, per Redis clock', async () => {
    expect((await lua.store.getMetrics()).oldestWaitingMs).toBeNull();
    await lua.store.add([input({ jobId: 'first', prio: 2 })]);
    await sleep(50);
    await lua.store.add([input({ jobId: 'second', prio: 0 })]);
    // A job added ready became ready when it was added: its timestamp.
    const entryMs = async (id: string) => (await lua.store.getJob(id))!.timestamp;

    let before = await redisMs();
    let oldest = (await lua.store.getMetrics()).oldestWaitingMs;
    let after = await redisMs();
    expect(oldest).toBeGreaterThanOrEqual(before - (await entryMs('first')));
    expect(oldest).toBeLessThanOrEqual(after - (await entryMs('first')));

    // The level-0 job is claimed first: 'first' (level 2) is still the oldest waiting.
    const [taken] = await claim(1);
    expect(taken?.id).toBe('second');
    expect((await lua.store.getMetrics()).oldestWaitingMs).toBeGreaterThanOrEqual(before - (await entryMs('first')));

    // Once 'first' is delivered too, a job added later is the oldest.
    await claim(1);
    await lua.store.add([input({ jobId: 'third', prio: 1 })]);
    before = await redisMs();
    oldest = (await lua.store.getMetrics()).oldestWaitingMs;
    after = await redisMs();
    expect(oldest).toBeGreaterThanOrEqual(before - (await entryMs('third')));
    expect(oldest).toBeLessThanOrEqual(after - (await entryMs('third')));
  });

  it('counts grouped waiting jobs apart and the ones a limit holds back', async () => {
    await lua.store.setGroupLimit('', { concurrency: 1 });
    await lua.store.add([
      ...['a1', 'a2', 'a3'].map((jobId) => input({ jobId, group: 'a' })),
      ...['b1', 'b2'].map((jobId) => input({ jobId, group: 'b' })),
      input({ jobId: 'plain' }),
    ]);
    expect(await lua.store.getMetrics()).toMatchObject({ waitingByLevel: [0, 1, 0], waitingGrouped: 5, waiting: 6, limited: 0, limitedGroups: 0 });
    // One job of each group starts; both groups are then full, holding back a2, a3 and b2.
    const jobs = await claim(10);
    expect(jobs.map((j) => j.id).sort()).toEqual(['a1', 'b1', 'plain']);
    expect(await lua.store.getMetrics()).toMatchObject({ waitingGrouped: 3, waiting: 3, active: 3, limited: 3, limitedGroups: 2 });
    await lua.store.complete(jobs.filter((j) => j.id === 'a1').map(done));
    expect(await lua.store.getMetrics()).toMatchObject({ waitingGrouped: 3, limited: 1, limitedGroups: 1, completedTotal: 1 });
  });

  it('stops counting held groups past 1,000 and reports their number instead', async () => {
    await lua.store.setGroupLimit('', { max: 1, duration: 60_000 });
    // 1,001 groups of two jobs: each starts one, and its rate window then holds the other.
    const groups = Array.from({ length: 1001 }, (_, g) => `t${g}`);
    await lua.store.add(groups.flatMap((group) => [input({ group }), input({ group })]));
    while ((await claim(1000)).length > 0);
    expect(await lua.store.getMetrics()).toMatchObject({ waitingGrouped: 1001, limitedGroups: 1001, limited: null });
  });

  it('reports waiting jobs as paused while the queue is paused', async () => {
    await lua.store.add([input(), input({ prio: 2 })]);
    await lua.store.setPaused(true);
    expect(await lua.store.getMetrics()).toMatchObject({ waiting: 0, paused: 2, isPaused: true, waitingByLevel: [0, 1, 1] });
    await lua.store.setPaused(false);
    expect(await lua.store.getMetrics()).toMatchObject({ waiting: 2, paused: 0, isPaused: false });
  });

  it('costs a fixed number of commands per level, whatever the depth (no scans)', async () => {
    const commands = (): Promise<number> => callsSoFar(lua.client, (command) => command !== 'info' && !SCRIPT_CALLS(command));
    const measure = async (): Promise<number> => {
      await lua.store.getMetrics(); // loads the script
      const before = await commands();
      await lua.store.getMetrics();
      return (await commands()) - before;
    };
    const empty = await measure();
    await lua.store.add(Array.from({ length: 2000 }, (_, i) => input({ prio: i % 3 })));
    await claim(500);
    const deep = await measure();
    // HMGET meta, TIME, ZCARD x5 (delayed, completed, failed, blocked, throttled groups) and SCARD (full
    // groups); XLEN per level, and XINFO GROUPS and XRANGE COUNT 1 for a level with entries.
    expect(empty).toBe(8 + 3);
    expect(deep).toBe(8 + 3 * 3);
  });
});

describe("why the KEDA example does not use the redis-streams trigger's lag mode", () => {
  it('one removed waiting job makes XINFO GROUPS report lag nil while jobs still wait', async () => {
    await lua.store.add([input({ jobId: 'keep-1' }), input({ jobId: 'gone' }), input({ jobId: 'keep-2' })]);
    const group = async (): Promise<unknown[]> => ((await lua.client.xinfo('GROUPS', lua.store.keys.wait[1]!)) as unknown[][])[0]!;
    const lag = async (): Promise<unknown> => {
      const fields = await group();
      return fields[fields.indexOf('lag') + 1];
    };
    const version = /redis_version:(\S+)/.exec(await lua.client.info('server'))?.[1] ?? '0';
    if (Number(version.split('.')[0]) < 7) {
      // XINFO GROUPS reports lag from Redis 7.0 on; 6.2 has none at all for KEDA to read.
      expect(await group()).not.toContain('lag');
      return;
    }
    expect(await lag()).toBe(3);
    expect(await lua.store.removeJob('gone')).toBe(Status.OK);
    // KEDA reads a nil lag as 0 and would scale the workers to zero with two jobs waiting.
    expect(await lag()).toBeNull();
    expect((await lua.store.getMetrics()).waiting).toBe(2);
    // It stays nil after the group reads past the deleted entry and new jobs arrive.
    await claim(1);
    await lua.store.add([input({ jobId: 'new' })]);
    expect(await lag()).toBeNull();
    expect((await lua.store.getMetrics()).waiting).toBe(2);
  });
});

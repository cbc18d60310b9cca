import { describe, expect, it } from 'vitest';
import { readHistory } from '../../src/redis/history.js';
import { ScheduleStore } from '../../src/redis/schedule-store.js';
import { packJobs, SCRIPTS, scriptLibrary } from '../../src/redis/scripts.js';
import { Status } from '../../src/redis/status.js';
import { GROUP } from '../../src/redis/store.js';
import { useRedis } from '../harness/redis.js';
import { input, useStore } from './store.js';

/**
 * Scripts that read a job from Redis check it before they write anything from it (jobProblem in
 * lua/includes/job-fields.lua): a job they cannot use is failed for good where they find it (corrupt.lua),
 * and an entry that holds no job is acknowledged and reported. None of them errors half way.
 */
const redis = useRedis();
const lua = useStore(redis);

/** Reads every undelivered entry of level 1 as consumer `dead`, the way a claim would, and counts them active. */
async function deliverToDead(): Promise<number> {
  const read = (await lua.client.xreadgroup('GROUP', GROUP, 'dead', 'COUNT', 100, 'STREAMS', lua.store.keys.wait[1]!, '>')) as [string, unknown[]][];
  const n = read[0]?.[1].length ?? 0;
  await lua.client.hincrby(lua.store.keys.meta, 'active', n);
  return n;
}

async function nextNumber(): Promise<number> {
  return lua.client.incr(lua.store.keys.id);
}

describe('recover-stalled', () => {
  it('fails a taken-back entry it cannot read, requeues the good one beside it, and reports an entry that holds no job', async () => {
    await lua.store.add([input()]);
    const corrupt = await nextNumber();
    await lua.client.xadd(lua.store.keys.wait[1]!, `${corrupt}-0`, 'name', 'n', 'data', '', 'opts', '', 'ts', 'yesterday');
    const stray = await nextNumber();
    await lua.client.xadd(lua.store.keys.wait[1]!, `${stray}-1`, 'hello', 'world');
    expect(await deliverToDead()).toBe(3);

    expect(await lua.store.recoverStalled('reaper', 0, 1, 100)).toEqual({ requeued: 1, failed: 1, strays: [`${stray}-1`] });
    const failed = await lua.store.getJob(String(corrupt));
    expect([failed?.state, failed?.failedReason, failed?.corrupt]).toEqual([
      'failed',
      `job '${corrupt}' cannot be read: field 'ts' is "yesterday", not a count; the job was failed without running`,
      undefined,
    ]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, active: 0, failed: 1 });
    // Counted as a failure for good in its minute, as in the lifetime total (this minute or, past its end, the last).
    expect((await readHistory(lua.client, lua.store.keys, 2)).reduce((sum, m) => sum + m.failed, 0)).toBe(1);
    // The next sweep finds nothing to take back, and no error.
    expect(await lua.store.recoverStalled('reaper', 0, 1, 100)).toEqual({ requeued: 0, failed: 0, strays: [] });
  });
});

describe('promote-delayed (a Scheduler with no worker)', () => {
  it('fails a due job whose hash cannot be used and promotes the others', async () => {
    const [bad, good] = await lua.store.add([input({ delay: 1 }), input({ delay: 1 })]);
    await lua.client.hset(lua.store.keys.job(bad!.id), 'stalls', '1e3');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await new ScheduleStore(lua.client, lua.store.keys, 100).promote(100)).toEqual({ promoted: 2, nextDueMs: -1 });
    expect((await lua.store.getJob(bad!.id))?.failedReason).toMatch(/field 'stalls' is "1e3", not a count/);
    expect((await lua.store.getJob(good!.id))?.state).toBe('waiting');
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, delayed: 0, failed: 1 });
  });
});

describe('retry-job and retry-jobs', () => {
  it('leave a completed job whose record is cut short where it is, and retry the others', async () => {
    await lua.store.add([input({ jobId: 'cut' }), input({ jobId: 'whole' })]);
    const claimed = await lua.store.claim('a', 2, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    await lua.store.complete(claimed.jobs.map((job) => ({ job, result: Buffer.from('r'), keep: { count: -1, age: -1 } })));
    await lua.client.hset(lua.store.keys.done, 'cut', Buffer.from([0, 0, 0, 9, 0x6e]));
    expect(await lua.store.retryJob('cut')).toBe(Status.CORRUPT);
    expect((await lua.store.getJob('cut'))?.corrupt).toMatch(/^its completed record is cut short/);
    expect(await lua.store.retryJobs('completed', 10, 0)).toEqual({ looked: 2, revived: 1, stayed: 1 });
    expect(await lua.store.retryJobs('completed', 10, 1)).toEqual({ looked: 0, revived: 0, stayed: 0 });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, completed: 1 });
  });

  it('add refuses a job whose priority is not a level of the queue, alone: the call goes on and the others are written', async () => {
    const { keys } = lua.store;
    // What a producer in another language might send: sluice's Queue checks the priority first.
    const jobs = [input({ name: 'before' }), input({ name: 'bad', prio: 7 }), input({ name: 'after', prio: 0 })];
    const keyList = [keys.id, keys.meta, keys.delayed, keys.events, keys.ctl, ...keys.groups, ...keys.streams];
    await lua.store.getCounts();
    await lua.store.add([input({ name: 'loads the library' })]);
    const reply = (await lua.client.call(
      'FCALL', scriptLibrary().functions.get('add') as string, keyList.length, ...keyList,
      keys.base, '100', '0', '3', packJobs(SCRIPTS.add.perJob, jobs, 'add'),
    )) as (string | number)[];
    expect(reply.filter((_, i) => i % 2 === 1)).toEqual([Status.OK, Status.LEVELS_MISMATCH, Status.OK]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 3 });
    const names = (await lua.store.getJobs('waiting', 0, 10)).map((job) => job.name).sort();
    expect(names).toEqual(['after', 'before', 'loads the library']);
  });
});


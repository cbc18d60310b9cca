import { describe, expect, it } from 'vitest';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { GROUP } from '../../src/redis/store.js';
import { KEEP_ALL } from '../../src/options.js';
import { encode } from '../../src/serializer.js';
import { useRedis } from '../harness/redis.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

async function claim(consumer: string, count: number): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim(consumer, count, 100);
  return claimed.kind === 'jobs' ? claimed.jobs : [];
}

const failForGood = (job: ClaimedJob) => ({ job, retryDelay: -1, reason: 'boom', stack: '', keep: KEEP_ALL });
const queueKeyCount = async () => (await lua.client.keys(`${lua.store.keys.base.replace(/[{}]/g, '\\$&')}*`)).length;

describe('remove-job', () => {
  it('removes waiting, delayed and failed jobs and refuses a running one', async () => {
    await lua.store.add([input({ jobId: 'w' }), input({ jobId: 'd', delay: 60_000 }), input({ jobId: 'r' }), input({ jobId: 'f' })]);
    expect(await lua.store.removeJob('w')).toBe(Status.OK);
    expect(await lua.store.removeJob('d')).toBe(Status.OK);
    const running = await claim('a', 2);
    expect(running.map((j) => j.id)).toEqual(['r', 'f']);
    expect(await lua.store.removeJob('r')).toBe(Status.JOB_ACTIVE);
    await lua.store.fail([failForGood(running[1]!)]);
    expect(await lua.store.removeJob('f')).toBe(Status.OK);
    expect(await lua.store.removeJob('f')).toBe(Status.JOB_MISSING);
    expect(await lua.store.getCounts()).toEqual({ waiting: 0, active: 1, delayed: 0, completed: 0, failed: 0, paused: 0, limited: 0, blocked: 0 });
  });
});

describe('retry-job and retry-jobs', () => {
  it('sends failed jobs back to waiting with attempts reset; refuses jobs that are not finished', async () => {
    await lua.store.add([input({ jobId: 'a' }), input({ jobId: 'b' }), input({ jobId: 'c' })]);
    const jobs = await claim('x', 3);
    await lua.store.fail(jobs.slice(0, 2).map(failForGood));
    expect(await lua.store.retryJob('c')).toBe(Status.WRONG_STATE);
    expect(await lua.store.retryJob('nope')).toBe(Status.JOB_MISSING);
    expect(await lua.store.retryJob('a')).toBe(Status.OK);
    expect(await lua.store.retryJobs('failed', 1000, 0)).toEqual({ looked: 1, revived: 1, stayed: 0 });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, failed: 0, active: 1 });
    const again = await claim('x', 2);
    // A fresh start: a handler must not mistake a manual retry for a re-delivery.
    expect(again.map((j) => [j.id, j.attemptsMade, j.attemptsStarted])).toEqual([['a', 0, 1], ['b', 0, 1]]);
    const raw = await lua.store.getJob('a');
    expect(raw?.failedReason).toBe('');
  });

  it('works through a large failed set in bounded steps', async () => {
    await lua.store.add(Array.from({ length: 25 }, () => input()));
    await lua.store.fail((await claim('x', 25)).map(failForGood));
    expect(await lua.store.retryJobs('failed', 10, 0)).toEqual({ looked: 10, revived: 10, stayed: 0 });
    expect(await lua.store.retryJobs('failed', 10, 0)).toEqual({ looked: 10, revived: 10, stayed: 0 });
    expect(await lua.store.retryJobs('failed', 10, 0)).toEqual({ looked: 5, revived: 5, stayed: 0 });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 25, failed: 0 });
  });
});

describe('obliterate', () => {
  it('refuses while jobs run, unless forced; then leaves no key of the queue behind', async () => {
    await lua.store.add([input(), input({ delay: 60_000 }), input({ jobId: 'logged' })]);
    await lua.store.addLog('logged', 'line', 0);
    await claim('a', 1);
    expect(await lua.store.obliterate(false, 100)).toBe(Status.JOB_ACTIVE);
    expect(await queueKeyCount()).toBeGreaterThan(0);
    expect(await lua.store.obliterate(true, 2)).toBe(2);
    expect(await lua.store.obliterate(true, 2)).toBe(1);
    expect(await lua.store.obliterate(true, 2)).toBe(0);
    expect(await queueKeyCount()).toBe(0);
  });
});

describe('get-jobs', () => {
  it('lists waiting by level then age, active in claim order, and finished newest first', async () => {
    await lua.store.add([input({ jobId: 'n1' }), input({ jobId: 'u1', prio: 0 }), input({ jobId: 'n2' }), input({ jobId: 'b1', prio: 2 }), input({ jobId: 'd1', delay: 60_000 })]);
    const ids = async (state: 'waiting' | 'active' | 'delayed' | 'failed', start = 0, stop = 99) =>
      (await lua.store.getJobs(state, start, stop)).map((j) => j.id);
    expect(await ids('waiting')).toEqual(['u1', 'n1', 'n2', 'b1']);
    expect(await ids('waiting', 1, 2)).toEqual(['n1', 'n2']);
    expect(await ids('delayed')).toEqual(['d1']);
    const running = await claim('a', 2);
    expect(await ids('active')).toEqual(['u1', 'n1']);
    expect(await ids('waiting')).toEqual(['n2', 'b1']);
    await lua.store.fail([failForGood(running[0]!)]);
    // Finish times are in ms: two failures in the same ms would tie, and ties sort by id.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await lua.store.fail([failForGood(running[1]!)]);
    expect(await ids('failed')).toEqual(['n1', 'u1']);
    const [first] = await lua.store.getJobs('failed', 0, 0);
    expect(first?.failedReason).toBe('boom');
  });
});

describe('pause, progress and logs', () => {
  it('pausing stops claims and counts waiting jobs as paused; resuming wakes blocked workers through ctl', async () => {
    await lua.store.add([input()]);
    const before = await lua.client.xlen(lua.store.keys.ctl);
    await lua.store.setPaused(true);
    expect((await lua.store.claim('a', 1, 100)).kind).toBe('paused');
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, paused: 1, limited: 0 });
    await lua.store.setPaused(false);
    expect(await lua.client.xlen(lua.store.keys.ctl)).toBe(before + 2);
    expect((await claim('a', 1)).length).toBe(1);
  });

  it('records progress and keeps only the newest log lines', async () => {
    await lua.store.add([input({ jobId: 'p' })]);
    expect(await lua.store.updateProgress('p', encode({ pct: 10 }, 'progress', 100))).toBe(Status.OK);
    expect(await lua.store.updateProgress('missing', encode(1, 'progress', 100))).toBe(Status.JOB_MISSING);
    for (const line of ['one', 'two', 'three']) await lua.store.addLog('p', line, 2);
    expect(await lua.store.getLogs('p', 0, -1)).toEqual(['two', 'three']);
    expect(await lua.store.addLog('missing', 'x', 2)).toBe(Status.JOB_MISSING);
  });
});

describe('consumer cleanup', () => {
  it('forgets idle consumers that hold nothing, and the reaper itself', async () => {
    await lua.store.add([input(), input()]);
    const [job] = await claim('gone-worker', 1);
    await lua.store.complete([{ job: job!, result: Buffer.alloc(0), keep: KEEP_ALL }]);
    await claim('busy-worker', 1);
    await lua.store.recoverStalled('reaper', 60_000, 1, 100);
    const names = async () => ((await lua.client.xinfo('CONSUMERS', lua.store.keys.wait[1]!, GROUP)) as unknown[][]).map((c) => c[1]);
    expect(await names()).toEqual(['busy-worker', 'gone-worker']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await lua.store.recoverStalled('reaper', 20, 1, 100);
    // busy-worker held a job past 20 ms: it was taken back, and then it held nothing either.
    expect(await names()).toEqual([]);
  });
});

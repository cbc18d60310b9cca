import { describe, expect, it } from 'vitest';
import { ControlStore } from '../../src/redis/control-store.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { Status } from '../../src/redis/status.js';
import type { AddInput } from '../../src/redis/store.js';
import type { DedupeOptions } from '../../src/dedupe.js';
import { KEEP_ALL } from '../../src/options.js';
import { decode, encode } from '../../src/serializer.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);
const control = (): ControlStore => ControlStore.of(lua.store);

async function claim(count = 10): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim('w', count, 100);
  return claimed.kind === 'jobs' ? claimed.jobs : [];
}

const data = (value: unknown): Buffer => encode(value, 'job data', 1024);
const deduped = (key: DedupeOptions, overrides: Partial<AddInput> = {}) => control().addDeduped(input(overrides), key, 0);
const locks = async () => lua.client.hgetall(lua.store.keys.dedupe);
const counts = () => lua.store.getCounts();
const complete = (job: ClaimedJob, dedupe = true) => lua.store.complete([{ job, result: data(1), keep: KEEP_ALL, dedupe }]);
const failForGood = (job: ClaimedJob, dedupe = true) => lua.store.fail([{ job, retryDelay: -1, reason: 'boom', stack: '', keep: KEEP_ALL, dedupe }]);

describe('add-deduped: in flight', () => {
  it('returns the job that holds the key while it waits, runs and retries, and frees the key when it completes', async () => {
    const first = await deduped({ key: 'k' }, { data: data({ v: 1 }) });
    expect([first.status, first.job?.state]).toEqual([Status.OK, 'waiting']);
    const again = await deduped({ key: 'k' }, { data: data({ v: 2 }) });
    expect([again.status, again.id, decode(again.job?.data, 'd')]).toEqual([Status.DEDUPLICATED, first.id, { v: 1 }]);
    const [running] = await claim();
    expect((await deduped({ key: 'k' })).status).toBe(Status.DEDUPLICATED);
    // A retry keeps it: the job is unfinished.
    await lua.store.fail([{ job: running!, retryDelay: 60_000, reason: 'again', stack: '', keep: KEEP_ALL, dedupe: true }]);
    const retrying = await deduped({ key: 'k' });
    expect([retrying.status, retrying.job?.state]).toEqual([Status.DEDUPLICATED, 'delayed']);
    await control().promote(first.id);
    await complete((await claim())[0]!);
    expect(await locks()).toEqual({});
    const next = await deduped({ key: 'k' });
    expect(next.status).toBe(Status.OK);
    expect(next.id).not.toBe(first.id);
    expect(await counts()).toMatchObject({ waiting: 1, active: 0, delayed: 0, completed: 1 });
  });

  it('frees the key when its job fails for good, is cancelled or removed, and takes over a lock whose job finished unflagged', async () => {
    const a = await deduped({ key: 'f' });
    await failForGood((await claim())[0]!);
    expect(await locks()).toEqual({});
    const b = await deduped({ key: 'f' });
    expect(b.status).toBe(Status.OK);
    await control().cancel(b.id, '');
    expect(await locks()).toEqual({});
    const c = await deduped({ key: 'f' });
    expect(await lua.store.removeJob(c.id)).toBe(Status.OK);
    expect(await locks()).toEqual({});
    // A completion that did not say it had a key (an older worker) leaves the lock; the next add sees the
    // job completed and takes the key over.
    const d = await deduped({ key: 'f' });
    await complete((await claim())[0]!, false);
    expect(await locks()).toEqual({ f: `0:${d.id}` });
    const e = await deduped({ key: 'f' });
    expect(e.status).toBe(Status.OK);
    expect(await locks()).toEqual({ f: `0:${e.id}` });
    expect(new Set([a.id, b.id, c.id, d.id, e.id]).size).toBe(5);
  });

  it('keeps jobId as identity: a jobId that exists returns that job; the key is not taken', async () => {
    await lua.store.add([input({ jobId: 'order-1' })]);
    const dup = await deduped({ key: 'x' }, { jobId: 'order-1' });
    expect([dup.status, dup.id]).toEqual([Status.DUPLICATE, 'order-1']);
    expect(await locks()).toEqual({});
    const made = await deduped({ key: 'x' }, { jobId: 'order-2' });
    expect([made.status, made.id]).toEqual([Status.OK, 'order-2']);
    // The key's job comes back even under another jobId.
    expect((await deduped({ key: 'x' }, { jobId: 'order-3' })).id).toBe('order-2');
  });

  it('writes delayed and grouped jobs as add does, with their key, and counts them', async () => {
    const later = await deduped({ key: 'd' }, { delay: 60_000 });
    const grouped = await deduped({ key: 'g' }, { group: 'acme' });
    expect([later.job?.state, grouped.job?.state]).toEqual(['delayed', 'waiting']);
    expect(await counts()).toMatchObject({ waiting: 1, delayed: 1 });
    expect(await lua.client.hget(lua.store.keys.job(later.id), 'ddk')).toBe('d');
    expect((await deduped({ key: 'g' }, { group: 'acme' })).id).toBe(grouped.id);
  });
});

describe('add-deduped: throttle', () => {
  it('returns the first job for ttl ms whatever its state, then adds a new one; ended windows are swept', async () => {
    const first = await deduped({ key: 't', ttl: 300 });
    await complete((await claim())[0]!);
    const within = await deduped({ key: 't', ttl: 300 });
    expect([within.status, within.id, within.job?.state]).toEqual([Status.DEDUPLICATED, first.id, 'completed']);
    await sleep(320);
    const after = await deduped({ key: 't', ttl: 300 });
    expect(after.status).toBe(Status.OK);
    expect(after.id).not.toBe(first.id);
    // A key used once is swept by a later add once its window ended.
    await deduped({ key: 'once', ttl: 50 });
    await sleep(70);
    await deduped({ key: 'other' });
    expect(Object.keys(await locks()).sort()).toEqual(['other', 't']);
    expect(await lua.client.zrange(lua.store.keys.dedupeWindows, '0', '-1')).toEqual(['t']);
  });
});

describe('add-deduped: debounce', () => {
  it('gives the pending job the latest data and moves its start; a started job makes way for a new one', async () => {
    const key = { key: 'deb', ttl: 10_000, debounce: true };
    const first = await deduped(key, { data: data({ v: 1 }), delay: 1000 });
    const due1 = first.job?.dueAt ?? 0;
    await sleep(20);
    const second = await deduped(key, { data: data({ v: 2 }), delay: 1000 });
    expect([second.status, second.id, decode(second.job?.data, 'd')]).toEqual([Status.DEBOUNCED, first.id, { v: 2 }]);
    expect(second.job?.dueAt).toBeGreaterThanOrEqual(due1 + 20);
    expect(await lua.client.zscore(lua.store.keys.delayed, first.id)).toBe(String(second.job?.dueAt));
    // Waiting but not started (promoted): it goes back to delayed with the new data, counted exactly.
    await control().promote(first.id);
    expect(await counts()).toMatchObject({ waiting: 1, delayed: 0 });
    const third = await deduped(key, { data: data({ v: 3 }), delay: 1000 });
    expect([third.status, third.job?.state, decode(third.job?.data, 'd')]).toEqual([Status.DEBOUNCED, 'delayed', { v: 3 }]);
    expect(await counts()).toMatchObject({ waiting: 0, delayed: 1 });
    await control().promote(first.id);
    const [running] = await claim();
    expect(decode(running?.data, 'd')).toEqual({ v: 3 });
    const fourth = await deduped(key, { data: data({ v: 4 }), delay: 1000 });
    expect(fourth.status).toBe(Status.OK);
    expect(fourth.id).not.toBe(first.id);
    expect(await counts()).toMatchObject({ active: 1, delayed: 1 });
  });
});

describe('update-data', () => {
  it('changes a delayed, grouped or failed job in place and moves a job waiting on a stream to the back of its level', async () => {
    await lua.store.add([input({ jobId: 'a' }), input(), input({ jobId: 'd', delay: 60_000 }), input({ jobId: 'g', group: 'acme' })]);
    const fresh = (await lua.store.getJobs('waiting', 0, 9)).find((j) => j.id !== 'a' && j.id !== 'g')!.id;
    for (const id of ['a', 'd', 'g']) expect((await control().updateData(id, data({ id }))).status).toBe(Status.OK);
    expect(await counts()).toMatchObject({ waiting: 3, delayed: 1 });
    const claimed = await claim();
    const order = claimed.filter((j) => j.group === '').map((j) => [j.id, decode(j.data, 'd')]);
    // 'a' was added first and went behind the fresh job.
    expect(order).toEqual([[fresh, { n: 1 }], ['a', { id: 'a' }]]);
    expect(claimed.filter((j) => j.group !== '').map((j) => [j.id, decode(j.data, 'd')])).toEqual([['g', { id: 'g' }]]);
    expect(decode((await lua.store.getJob('d'))?.data, 'd')).toEqual({ id: 'd' });
  });

  it('updates a fresh entry (no hash) and a failed job before a retry; refuses running and completed jobs', async () => {
    await lua.store.add([input(), input()]);
    const ids = (await lua.store.getJobs('waiting', 0, 9)).map((j) => j.id);
    expect((await control().updateData(ids[0]!, data('new'))).status).toBe(Status.OK);
    expect(decode((await lua.store.getJob(ids[0]!))?.data, 'd')).toBe('new');
    const [x, y] = await claim(2);
    expect(await control().updateData(x!.id, data(1))).toEqual({ status: Status.JOB_ACTIVE, state: 'active', at: 0 });
    await failForGood(x!, false);
    await complete(y!, false);
    expect(await control().updateData(y!.id, data(1))).toEqual({ status: Status.WRONG_STATE, state: 'completed', at: 0 });
    expect((await control().updateData(x!.id, data('fixed'))).status).toBe(Status.OK);
    expect(await lua.store.retryJob(x!.id)).toBe(Status.OK);
    expect(decode((await claim())[0]?.data, 'd')).toBe('fixed');
    expect((await control().updateData('nope', data(1))).status).toBe(Status.JOB_MISSING);
  });
});

describe('change-priority', () => {
  it('moves waiting jobs between levels with exact counts, keeps a grouped job in its group place, and changes a delayed one', async () => {
    await lua.store.add([input({ jobId: 'n1' }), input(), input({ jobId: 'd', delay: 60_000 })]);
    const fresh = (await lua.store.getJobs('waiting', 0, 9)).find((j) => j.id !== 'n1')!.id;
    expect((await control().changePriority(fresh, 0)).status).toBe(Status.OK);
    expect((await control().changePriority('d', 2)).status).toBe(Status.OK);
    expect(await counts()).toMatchObject({ waiting: 2, delayed: 1 });
    const metrics = await lua.store.getMetrics();
    expect(metrics.waitingByLevel).toEqual([1, 1, 0]);
    expect((await claim(1))[0]?.id).toBe(fresh);
    expect((await lua.store.getJob('d'))?.priority).toBe(2);
    await control().promote('d');
    expect((await lua.store.getMetrics()).waitingByLevel).toEqual([0, 1, 1]);
  });

  it('reorders a group by level, keeping the order of its jobs within a level', async () => {
    await lua.store.add(['g1', 'g2', 'g3'].map((jobId) => input({ jobId, group: 'acme' })));
    expect((await control().changePriority('g3', 0)).status).toBe(Status.OK);
    expect((await control().changePriority('g1', 2)).status).toBe(Status.OK);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) order.push(...(await claim(1)).map((j) => j.id));
    expect(order).toEqual(['g3', 'g2', 'g1']);
    expect(await counts()).toMatchObject({ waiting: 0, active: 3 });
  });

  it('refuses running and finished jobs, and levels the queue does not have', async () => {
    await lua.store.add([input({ jobId: 'r' })]);
    const [running] = await claim();
    expect(await control().changePriority('r', 0)).toEqual({ status: Status.JOB_ACTIVE, state: 'active', at: 0 });
    await failForGood(running!, false);
    expect(await control().changePriority('r', 0)).toEqual({ status: Status.WRONG_STATE, state: 'failed', at: 0 });
    expect((await control().changePriority('r', 3)).status).toBe(Status.LEVELS_MISMATCH);
    expect((await control().changePriority('nope', 0)).status).toBe(Status.JOB_MISSING);
  });
});

describe('change-delay and promote-job', () => {
  it('moves a delayed job later or to now, moves a waiting job to delayed, and promotes', async () => {
    await lua.store.add([input({ jobId: 'd', delay: 60_000 }), input({ jobId: 'w' }), input({ jobId: 'gw', group: 'acme' })]);
    const later = await control().changeDelay('d', 120_000, -1);
    expect(later.status).toBe(Status.OK);
    expect(later.state).toBe('delayed');
    expect(await lua.client.zscore(lua.store.keys.delayed, 'd')).toBe(String(later.at));
    const now = await control().changeDelay('d', 0, -1);
    expect(now.state).toBe('waiting');
    for (const id of ['w', 'gw']) expect((await control().changeDelay(id, 60_000, -1)).state).toBe('delayed');
    expect(await counts()).toMatchObject({ waiting: 1, delayed: 2 });
    const [d] = await claim();
    expect(d?.id).toBe('d');
    expect(await control().promote('w')).toEqual({ status: Status.OK, state: 'delayed', at: 0 });
    expect((await control().promote('w')).state).toBe('waiting');
    expect((await control().promote('w')).status).toBe(Status.WRONG_STATE);
    expect((await control().changeDelay('gw', -1, Date.now() + 30_000)).state).toBe('delayed');
    expect(await control().changeDelay('d', 10, -1)).toEqual({ status: Status.JOB_ACTIVE, state: 'active', at: 0 });
    expect((await claim()).map((j) => j.id)).toEqual(['w']);
    expect(await counts()).toMatchObject({ waiting: 0, delayed: 1, active: 2 });
    await failForGood(d!, false);
    expect(await control().changeDelay('d', 10, -1)).toEqual({ status: Status.WRONG_STATE, state: 'failed', at: 0 });
  });
});

describe('cancel', () => {
  it('fails waiting, grouped and delayed jobs for good with the reason, counted exactly', async () => {
    await lua.store.add([input({ jobId: 'w' }), input({ jobId: 'g', group: 'acme' }), input({ jobId: 'd', delay: 60_000 })]);
    for (const id of ['w', 'g', 'd']) expect((await control().cancel(id, id === 'w' ? 'not needed' : '')).status).toBe(Status.OK);
    expect(await counts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 3, paused: 0, limited: 0, blocked: 0 });
    expect((await lua.store.getJob('w'))?.failedReason).toBe('cancelled: not needed');
    expect((await lua.store.getJob('d'))?.failedReason).toBe('cancelled');
    expect(await claim()).toEqual([]);
    expect(await control().cancel('w', '')).toEqual({ status: Status.WRONG_STATE, state: 'failed', at: 0 });
  });

  it('takes a running job from its worker: its lease is lost, its late settles are refused as CANCELLED, its group slot is free', async () => {
    await lua.store.setGroupLimit('acme', { concurrency: 1 });
    await lua.store.add([input({ jobId: 'r', group: 'acme' }), input({ jobId: 'next', group: 'acme' }), input({ jobId: 'plain' })]);
    const running = (await claim()).sort((a, b) => a.id.localeCompare(b.id));
    expect(running.map((j) => j.id)).toEqual(['plain', 'r']);
    expect(await control().cancelCount()).toBe(0);
    const cancelled = await control().cancel('r', 'stop');
    expect(cancelled.status).toBe(Status.OK);
    expect(cancelled.state).toBe('active');
    expect(await control().cancelCount()).toBe(1);
    expect(await control().cancelled(['r', 'plain'])).toEqual(new Map([['r', 'cancelled: stop']]));
    expect(await counts()).toMatchObject({ active: 1, failed: 1, waiting: 1 });
    const r = running[1]!;
    expect(await lua.store.extendLeases('w', running.map((j) => ({ stream: j.stream, entry: j.entry })))).toEqual([r.entry]);
    expect((await complete(r)).statuses).toEqual([Status.CANCELLED]);
    expect((await lua.store.fail([{ job: r, retryDelay: 0, reason: 'x', stack: '', keep: KEEP_ALL }])).statuses).toEqual([Status.CANCELLED]);
    expect((await lua.store.getJob('r'))?.attemptsMade).toBe(1);
    // The group's slot went back with the cancel: its next job starts.
    expect((await claim()).map((j) => j.id)).toEqual(['next']);
    // Retried, it is an ordinary job again: no longer marked cancelled.
    expect(await lua.store.retryJob('r')).toBe(Status.OK);
    expect(await control().cancelled(['r'])).toEqual(new Map());
  });
});

describe('obliterate', () => {
  it('deletes the dedupe locks and windows with the queue', async () => {
    await deduped({ key: 'a' });
    await deduped({ key: 'b', ttl: 60_000 });
    expect(await lua.client.exists(lua.store.keys.dedupe, lua.store.keys.dedupeWindows)).toBe(2);
    while ((await lua.store.obliterate(true, 100)) > 0);
    expect(await lua.client.exists(lua.store.keys.dedupe, lua.store.keys.dedupeWindows)).toBe(0);
  });
});

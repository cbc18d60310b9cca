import { describe, expect, it } from 'vitest';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { KEEP_ALL } from '../../src/options.js';
import { MAX_RETRY_DELAY_MS } from '../../src/backoff.js';
import { decode, encode } from '../../src/serializer.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

async function claimOne(consumer: string): Promise<ClaimedJob> {
  const claimed = await lua.store.claim(consumer, 1, 100);
  if (claimed.kind !== 'jobs') throw new Error(`expected a job, got ${claimed.kind}`);
  return claimed.jobs[0]!;
}

const done = (job: ClaimedJob, keep = KEEP_ALL) => ({ job, result: Buffer.from('r'), keep });
const failed = (job: ClaimedJob, retryDelay: number, reason: string, stack = '') => ({ job, retryDelay, reason, stack, keep: KEEP_ALL });

describe('add and claim', () => {
  it('generates increasing ids, refuses a second copy of a jobId, and derives waiting exactly', async () => {
    const added = await lua.store.add([input(), input({ jobId: 'order-1' }), input({ jobId: 'order-1' }), input()]);
    // Every job of a call takes a number from the id counter (its entry id is "<number>-0"), so generated
    // ids rise but skip the numbers other jobs took.
    expect(added).toEqual([
      { id: '1', duplicate: false },
      { id: 'order-1', duplicate: false },
      { id: 'order-1', duplicate: true },
      { id: '4', duplicate: false },
    ]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 3, active: 0 });
    await claimOne('a');
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, active: 1 });
  });

  it('keeps a job added fresh in its stream entry alone: no hash while it waits or runs, and getJob reads the entry', async () => {
    const [added] = await lua.store.add([input({ prio: 2 })]);
    const id = added!.id;
    expect(await lua.client.exists(lua.store.keys.job(id))).toBe(0);
    expect(await lua.client.xrange(lua.store.keys.wait[2]!, '-', '+')).toEqual([[`${id}-0`, ['name', 'job', 'data', expect.any(String), 'opts', expect.any(String), 'ts', expect.any(String)]]]);
    const waiting = await lua.store.getJob(id);
    expect([waiting?.state, waiting?.name, waiting?.priority]).toEqual(['waiting', 'job', 2]);

    const job = await claimOne('a');
    expect([job.id, job.entry, job.stream, job.priority, job.attemptsStarted, job.attemptsMade]).toEqual([id, `${id}-0`, 2, 2, 1, 0]);
    expect(await lua.client.exists(lua.store.keys.job(id))).toBe(0);
    expect((await lua.store.getJob(id))?.state).toBe('active');

    // Deleted at once on completion: its acknowledged entry waits for a trim, and is no job any more.
    await lua.store.add([input({ prio: 2 })]);
    await claimOne('b');
    await lua.store.complete([done(job, { count: 0, age: -1 })]);
    expect(await lua.client.xlen(lua.store.keys.wait[2]!)).toBe(2);
    expect(await lua.store.getJob(id)).toBeNull();
  });

  it('returns the ids to block on and the time to the next delayed job when nothing is ready', async () => {
    await lua.store.add([input({ delay: 60_000 })]);
    const claimed = await lua.store.claim('a', 10, 100);
    if (claimed.kind !== 'empty') throw new Error(`expected empty, got ${claimed.kind}`);
    expect(claimed.nextDueMs).toBeGreaterThan(59_000);
    // Due 60 s after the add to the µs, rounded up; claim counts from Redis' ms, floored.
    expect(claimed.nextDueMs).toBeLessThanOrEqual(60_001);
    expect(claimed.waitIds).toEqual(['0-0', '0-0', '0-0']);
  });

  it('promotes a delayed job only once Redis time has reached its due time', async () => {
    const [added] = await lua.store.add([input({ delay: 150 })]);
    expect((await lua.store.claim('a', 1, 100)).kind).toBe('empty');
    await sleep(200);
    const job = await claimOne('a');
    expect(job.id).toBe(added!.id);
    expect(job.processedOn).toBeGreaterThanOrEqual(job.timestamp + 150);
  });

  it('counts a delay from Redis\' time to the µs: a job is never due before the time before the call + its delay', async () => {
    // Redis' time in µs, read just before a call: the call runs later, so its due time may not be earlier.
    const before = async (): Promise<number> => {
      const [seconds, micros] = await lua.client.time();
      return Number(seconds) * 1000 + Number(micros) / 1000;
    };
    // From a floored clock, a due time was up to 1 ms early whenever the call ran in the ms it was sent in:
    // 20 tries make that all but certain to show.
    for (let i = 0; i < 20; i++) {
      const sent = await before();
      const [added] = await lua.store.add([input({ delay: 5_000 })]);
      expect((await lua.store.getJob(added!.id))?.dueAt).toBeGreaterThanOrEqual(sent + 5_000);
    }
    await lua.store.add([input(), input(), input()]);
    const claimed = await lua.store.claim('a', 3, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    for (const job of claimed.jobs) {
      const sent = await before();
      expect((await lua.store.fail([failed(job, 5_000, 'retry later')])).statuses).toEqual([Status.OK]);
      expect((await lua.store.getJob(job.id))?.dueAt).toBeGreaterThanOrEqual(sent + 5_000);
    }
  });

  it('wakes blocked workers (a ctl entry) only when a delayed job becomes the earliest due', async () => {
    const ctl = async () => lua.client.xlen(lua.store.keys.ctl);
    await lua.store.add([input({ delay: 50_000 })]);
    expect(await ctl()).toBe(1);
    await lua.store.add([input({ delay: 90_000 })]);
    expect(await ctl()).toBe(1);
    await lua.store.add([input({ delay: 10_000 })]);
    expect(await ctl()).toBe(2);
  });

  it('asks for init after the queue was obliterated', async () => {
    expect(await lua.store.obliterate(false, 100)).toBe(0);
    expect((await lua.store.claim('a', 1, 100)).kind).toBe('needs-init');
  });
});

describe('settling with fencing', () => {
  it('completes a held delivery once; a second settle of it is refused', async () => {
    await lua.store.add([input()]);
    const job = await claimOne('a');
    expect((await lua.store.complete([done(job)])).statuses).toEqual([Status.OK]);
    expect((await lua.store.complete([done(job)])).statuses).toEqual([Status.LEASE_LOST]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0, completed: 1 });
    expect(await lua.client.xlen(lua.store.keys.wait[1]!)).toBe(0);
  });

  it('refuses the late result of a worker whose delivery was taken back as stalled', async () => {
    await lua.store.add([input()]);
    const first = await claimOne('frozen');
    expect(await lua.store.recoverStalled('reaper', 0, 5, 100)).toEqual({ requeued: 1, failed: 0, strays: [] });
    const second = await claimOne('healthy');
    expect(second.id).toBe(first.id);
    expect(second.entry).not.toBe(first.entry);
    expect(second.attemptsStarted).toBe(2);
    expect((await lua.store.complete([done(first)])).statuses).toEqual([Status.LEASE_LOST]);
    expect((await lua.store.fail([failed(first, -1, 'late')])).statuses).toEqual([Status.LEASE_LOST]);
    expect((await lua.store.complete([done(second)])).statuses).toEqual([Status.OK]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0, completed: 1, failed: 0 });
  });

  it('fails a job that stalled more than maxStalled times with reason stalled', async () => {
    await lua.store.add([input()]);
    await claimOne('a');
    expect(await lua.store.recoverStalled('reaper', 0, 1, 100)).toEqual({ requeued: 1, failed: 0, strays: [] });
    const again = await claimOne('b');
    expect(await lua.store.recoverStalled('reaper', 0, 1, 100)).toEqual({ requeued: 0, failed: 1, strays: [] });
    const raw = await lua.store.getJob(again.id);
    expect(raw?.state).toBe('failed');
    expect(raw?.failedReason).toMatch(/^stalled: /);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0, failed: 1 });
  });

  it('leaves held deliveries alone while their leases are extended, and reports lost ones', async () => {
    // Three on one stream: one XCLAIM must extend them all (it once passed only the first id).
    await lua.store.add([input(), input(), input(), input({ prio: 0 })]);
    const claimed = await lua.store.claim('a', 4, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    const held = claimed.jobs.map(({ stream, entry }) => ({ stream, entry }));
    await sleep(60);
    expect(await lua.store.extendLeases('a', held)).toEqual([]);
    expect(await lua.store.recoverStalled('reaper', 50, 1, 100)).toEqual({ requeued: 0, failed: 0, strays: [] });
    expect(await lua.store.recoverStalled('reaper', 0, 1, 100)).toEqual({ requeued: 4, failed: 0, strays: [] });
    expect((await lua.store.extendLeases('a', held)).sort()).toEqual(claimed.jobs.map((j) => j.entry).sort());
  });

  it('retries after a backoff as delayed, then fails for good, counting attempts', async () => {
    await lua.store.add([input()]);
    const first = await claimOne('a');
    expect((await lua.store.fail([failed(first, 100, 'boom', 'at x')])).statuses).toEqual([Status.OK]);
    expect(await lua.store.getCounts()).toMatchObject({ delayed: 1, active: 0, waiting: 0 });
    await sleep(150);
    const second = await claimOne('a');
    expect(second.attemptsMade).toBe(1);
    expect(second.failedReason).toBe('boom');
    expect((await lua.store.fail([failed(second, -1, 'boom again', 'at y')])).statuses).toEqual([Status.OK]);
    const raw = await lua.store.getJob(second.id);
    expect(raw?.attemptsMade).toBe(2);
    expect(raw?.failedReason).toBe('boom again');
    expect(await lua.store.getCounts()).toMatchObject({ delayed: 0, active: 0, failed: 1 });
  });

  it('keeps a retry due time an int64: a delay past MAX_RETRY_DELAY_MS is clamped, one that is not a number fails the job', async () => {
    await lua.store.add([input(), input(), input()]);
    const claimed = await lua.store.claim('a', 3, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    const [huge, infinite, nan] = claimed.jobs as [ClaimedJob, ClaimedJob, ClaimedJob];
    const [seconds] = await lua.client.time();
    const now = Number(seconds) * 1000;
    // '%d' of now + 1e19 wraps to -9223372036854775808: the job would be due at once, every time.
    expect((await lua.store.fail([failed(huge, 1e19, 'huge'), failed(infinite, Infinity, 'infinite'), failed(nan, NaN, 'nan')])).statuses).toEqual([
      Status.OK,
      Status.OK,
      Status.OK,
    ]);
    for (const job of [huge, infinite]) {
      const due = (await lua.store.getJob(job.id))?.dueAt ?? 0;
      expect(due).toBeGreaterThan(now + MAX_RETRY_DELAY_MS - 5000);
      expect(due).toBeLessThanOrEqual(now + MAX_RETRY_DELAY_MS + 5000);
      expect(Number(await lua.client.zscore(lua.store.keys.delayed, job.id))).toBe(due);
    }
    expect((await lua.store.getJob(nan.id))?.state).toBe('failed');
    expect(await lua.store.getCounts()).toMatchObject({ delayed: 2, failed: 1, active: 0, waiting: 0 });
  });

  it('settles a batch in one call with a status per job', async () => {
    await lua.store.add([input(), input(), input()]);
    const claimed = await lua.store.claim('a', 3, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    const [a, b, c] = claimed.jobs as [ClaimedJob, ClaimedJob, ClaimedJob];
    expect((await lua.store.complete([done(a), done(b), done({ ...c, entry: '99-0' })])).statuses).toEqual([Status.OK, Status.OK, Status.LEASE_LOST]);
    expect(await lua.store.getCounts()).toMatchObject({ active: 1, completed: 2 });
  });
});

describe('completed records', () => {
  it('keeps a completed job as the record its worker wrote, whole: getJob, retry and dedupe read it', async () => {
    await lua.store.add([input({ jobId: 'invoice-7', prio: 0, group: 'acme', data: encode({ amount: 12 }, 'job data', 100) })]);
    const job = await claimOne('a');
    const progress = encode({ pct: 100 }, 'progress', 100);
    const result = encode({ paid: true }, 'return value', 100);
    expect((await lua.store.complete([{ job, result, keep: KEEP_ALL, progress }])).statuses).toEqual([Status.OK]);
    // No hash is left: the record in the done hash is the job now.
    expect(await lua.client.exists(lua.store.keys.job('invoice-7'))).toBe(0);
    expect(await lua.client.hlen(lua.store.keys.done)).toBe(1);
    const raw = await lua.store.getJob('invoice-7');
    expect([raw?.state, raw?.name, raw?.priority, raw?.group, raw?.attemptsStarted, raw?.attemptsMade, raw?.processedOn, raw?.corrupt]).toEqual([
      'completed', 'job', 0, 'acme', 1, 1, job.processedOn, undefined,
    ]);
    expect(decode(raw?.data)).toEqual({ amount: 12 });
    expect(decode(raw?.returnvalue)).toEqual({ paid: true });
    expect(decode(raw?.progress)).toEqual({ pct: 100 });
    expect(raw?.finishedOn).toBeGreaterThanOrEqual(job.processedOn);
    expect(raw?.timestamp).toBe(job.timestamp);
    // A jobId that completed is still taken while its record is kept.
    expect(await lua.store.add([input({ jobId: 'invoice-7' })])).toEqual([{ id: 'invoice-7', duplicate: true }]);
    const listed = await lua.store.getJobs('completed', 0, 9);
    // Compared as JSON: the two replies' Buffers are views into different reply buffers.
    expect(JSON.stringify(listed)).toBe(JSON.stringify([raw]));

    // A retry reads the record in Lua (struct.unpack): the same job comes back, attempts reset.
    expect(await lua.store.retryJob('invoice-7')).toBe(Status.OK);
    expect(await lua.client.hlen(lua.store.keys.done)).toBe(0);
    const again = await claimOne('a');
    expect([again.id, again.name, again.priority, again.group, again.attemptsStarted, again.attemptsMade]).toEqual(['invoice-7', 'job', 0, 'acme', 1, 0]);
    expect(decode(again.data)).toEqual({ amount: 12 });
    expect(again.opts).toEqual(job.opts);
  });

  it('keeps the reason of an earlier failed attempt on the completed job', async () => {
    await lua.store.add([input()]);
    const first = await claimOne('a');
    await lua.store.fail([{ job: first, retryDelay: 0, reason: 'timeout upstream', stack: 'at call', keep: KEEP_ALL }]);
    const second = await claimOne('a');
    expect([second.failedReason, second.stacktrace, second.attemptsMade]).toEqual(['timeout upstream', 'at call', 1]);
    await lua.store.complete([done(second)]);
    const raw = await lua.store.getJob(first.id);
    expect([raw?.state, raw?.failedReason, raw?.stacktrace, raw?.attemptsMade]).toEqual(['completed', 'timeout upstream', 'at call', 2]);
  });

  it('removes a completed job and its record', async () => {
    await lua.store.add([input()]);
    const job = await claimOne('a');
    await lua.store.complete([done(job)]);
    expect(await lua.store.removeJob(job.id)).toBe(Status.OK);
    expect(await lua.client.hlen(lua.store.keys.done)).toBe(0);
    expect(await lua.store.getJob(job.id)).toBeNull();
    expect(await lua.store.getCounts()).toMatchObject({ completed: 0 });
  });
});

describe('retention', () => {
  it('deletes a job at once with keep count 0, and trims the completed set to its count', async () => {
    await lua.store.add([input(), input(), input(), input()]);
    const claimed = await lua.store.claim('a', 4, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    const [a, b, c, d] = claimed.jobs as [ClaimedJob, ClaimedJob, ClaimedJob, ClaimedJob];
    await lua.store.complete([done(a, { count: 0, age: -1 })]);
    expect(await lua.store.getJob(a.id)).toBeNull();
    await lua.store.complete([done(b, { count: 2, age: -1 })]);
    await lua.store.complete([done(c, { count: 2, age: -1 })]);
    await lua.store.complete([done(d, { count: 2, age: -1 })]);
    expect(await lua.client.zrange(lua.store.keys.completed, '0', '-1')).toEqual([c.id, d.id]);
    expect((await lua.client.hkeys(lua.store.keys.done)).sort()).toEqual([c.id, d.id].sort());
    expect(await lua.store.getJob(b.id)).toBeNull();
    expect(await lua.store.getCounts()).toMatchObject({ completed: 2, active: 0 });
  });

  it('deletes completed jobs older than their age', async () => {
    await lua.store.add([input(), input()]);
    const claimed = await lua.store.claim('a', 2, 100);
    if (claimed.kind !== 'jobs') throw new Error('expected jobs');
    const [a, b] = claimed.jobs as [ClaimedJob, ClaimedJob];
    await lua.store.complete([done(a)]);
    await sleep(1100);
    await lua.store.complete([done(b, { count: -1, age: 1 })]);
    expect(await lua.client.zrange(lua.store.keys.completed, '0', '-1')).toEqual([b.id]);
  });
});

describe('settled entries leave the streams by trimming', () => {
  const level = (): string => lua.store.keys.wait[1]!;

  it('trims everything below the oldest pending entry, and counts what a running job still holds back', async () => {
    await lua.store.add(Array.from({ length: 250 }, () => input()));
    const first = await claimOne('slow');
    // 249 more complete while the first one runs: it pins the trim point, so their entries stay.
    const rest = await lua.store.claim('fast', 300, 100);
    if (rest.kind !== 'jobs') throw new Error('expected jobs');
    expect(rest.jobs).toHaveLength(249);
    await lua.store.complete(rest.jobs.map((job) => done(job, { count: 0, age: -1 })));
    expect(await lua.client.xlen(level())).toBe(250);
    expect(await lua.client.hget(lua.store.keys.meta, 'acked1')).toBe('249');
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 1 });
    expect((await lua.store.getMetrics()).waitingByLevel).toEqual([0, 0, 0]);

    // New work after the pinned entries is still counted exactly.
    await lua.store.add([input(), input()]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, active: 1 });

    // The running job settles: its entry and all settled ones below the next pending are trimmed away
    // (whole stream nodes, 100 entries each by default; the rest at a later trim).
    await lua.store.complete([done(first, { count: 0, age: -1 })]);
    const left = await lua.client.xlen(level());
    expect(left).toBeLessThanOrEqual(102);
    expect(Number(await lua.client.hget(lua.store.keys.meta, 'acked1'))).toBe(left - 2);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, active: 0 });
    const next = await lua.store.claim('fast', 10, 100);
    if (next.kind !== 'jobs') throw new Error('expected jobs');
    expect(next.jobs).toHaveLength(2);
    await lua.store.complete(next.jobs.map((job) => done(job, { count: 0, age: -1 })));
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0 });
    expect(Number(await lua.client.hget(lua.store.keys.meta, 'acked1'))).toBe(await lua.client.xlen(level()));
  });

  it('deletes settled entries at once again while a job pins more than 10,000 of them, so the stream stays bounded', async () => {
    await lua.store.add([input()]);
    const pin = await claimOne('slow');
    for (let round = 0; round < 11; round++) {
      await lua.store.add(Array.from({ length: 1000 }, () => input()));
      const batch = await lua.store.claim('fast', 1000, 100);
      if (batch.kind !== 'jobs') throw new Error('expected jobs');
      await lua.store.complete(batch.jobs.map((job) => done(job, { count: 0, age: -1 })));
    }
    // 11,000 settled behind the pin: at most 10,000 are kept, the rest were deleted on the spot.
    const acked = Number(await lua.client.hget(lua.store.keys.meta, 'acked1'));
    expect(acked).toBeLessThanOrEqual(10_000);
    expect(await lua.client.xlen(level())).toBe(acked + 1);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 1 });
    await lua.store.complete([done(pin, { count: 0, age: -1 })]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0 });
    expect(await lua.client.xlen(level())).toBeLessThanOrEqual(100);
  }, 30_000);
});

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobNotFoundError, Queue, ValidationError, Worker } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { sleep, waitFor } from '../harness/wait.js';

/** The Queue operations an operator's tools use: clean, promote, and the reads of limits. */
const redis = useRedis();
let admin: Redis;

beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(async () => {
  await admin.quit();
});

/** Adds `each` jobs that fail and `each` that complete, and runs them; `before` of each were there already. */
async function failedAndCompleted(queue: Queue, name: string, each: number, before = 0): Promise<void> {
  const worker = new Worker(name, async (job) => {
    if ((job.data as { fail: boolean }).fail) throw new Error('no');
    return 'ok';
  }, { connection: redis.connection });
  await queue.addBulk(Array.from({ length: each * 2 }, (_, i) => ({ name: 'j', data: { fail: i % 2 === 0 }, opts: { attempts: 1 } })));
  await waitFor('all settled', async () => {
    const counts = await queue.getCounts();
    return counts.completed === before + each && counts.failed === before + each;
  });
  await worker.close();
}

describe('clean', () => {
  it('deletes finished jobs older than the age given, with their logs, and keeps newer ones', async () => {
    const name = uniqueQueue('clean');
    const queue = new Queue(name, { connection: redis.connection });
    await failedAndCompleted(queue, name, 3);
    const [old] = await queue.getJobs('failed');
    await old!.log('a line');
    await sleep(300);
    await failedAndCompleted(queue, name, 2, 3);
    expect(await queue.clean('failed', 250)).toBe(3);
    expect(await queue.getCounts()).toMatchObject({ failed: 2, completed: 5 });
    expect(await admin.exists(queue.store.keys.logs(old!.id))).toBe(0);
    expect(await queue.clean('completed', 0)).toBe(5);
    expect(await queue.getCounts()).toMatchObject({ failed: 2, completed: 0 });
    await queue.obliterate();
    await queue.close();
  });

  it('refuses a bad state or age, and finds nothing on a queue that does not exist', async () => {
    const queue = new Queue(uniqueQueue('clean-none'), { connection: redis.connection });
    await expect(queue.clean('waiting' as 'failed', 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.clean('failed', -1)).rejects.toBeInstanceOf(ValidationError);
    expect(await queue.clean('failed', 0)).toBe(0);
    expect(await admin.exists(queue.store.keys.meta)).toBe(0);
    await queue.close();
  });
});

describe('promote', () => {
  it('moves one delayed job to waiting now, and refuses one that is not delayed', async () => {
    const name = uniqueQueue('promote');
    const queue = new Queue(name, { connection: redis.connection });
    const later = await queue.add('later', {}, { delay: 60_000 });
    const other = await queue.add('other', {}, { delay: 60_000 });
    const ready = await queue.add('ready', {});
    await queue.promoteJob(later.id);
    expect((await queue.getJob(later.id))?.state).toBe('waiting');
    expect((await queue.getJob(other.id))?.state).toBe('delayed');
    expect(await queue.getCounts()).toMatchObject({ waiting: 2, delayed: 1 });
    await expect(queue.promoteJob(ready.id)).rejects.toThrow(`job '${ready.id}' is waiting, not delayed`);
    await expect(queue.promoteJob('nope')).rejects.toBeInstanceOf(JobNotFoundError);
    const worker = new Worker(name, async () => 'done', { connection: redis.connection });
    await waitFor('both ready jobs ran', async () => (await queue.getCounts()).completed === 2);
    await worker.close();
    await queue.obliterate();
    await queue.close();
  });

  it('moves every delayed job, grouped ones included, and a paused queue counts them as paused', async () => {
    const name = uniqueQueue('promote-all');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.addBulk(Array.from({ length: 1205 }, (_, i) => ({ name: 'd', data: { i }, opts: { delay: 60_000 + i } })));
    await queue.add('grouped', {}, { delay: 60_000, group: 'tenant-a' });
    await queue.pause();
    expect(await queue.promoteJobs()).toBe(1206);
    expect(await queue.getCounts()).toMatchObject({ delayed: 0, paused: 1206 });
    expect(await queue.promoteJobs()).toBe(0);
    await queue.obliterate();
    await queue.close();
  });
});

describe('reading the limits', () => {
  it('reports the queue-wide window, throttled and full groups with their jobs', async () => {
    const name = uniqueQueue('limits-read');
    const queue = new Queue(name, { connection: redis.connection });
    expect(await queue.getRateWindow()).toEqual({ limit: null, started: 0, heldUntil: null });
    await queue.setRateLimit({ max: 100, duration: 60_000 });
    await queue.setGroupLimit({ max: 1, duration: 60_000 }, 'slow');
    await queue.setGroupLimit({ concurrency: 1 }, 'narrow');
    await queue.addBulk([
      ...Array.from({ length: 3 }, () => ({ name: 's', data: {}, opts: { group: 'slow' } })),
      ...Array.from({ length: 3 }, () => ({ name: 'n', data: {}, opts: { group: 'narrow' } })),
    ]);
    let release: () => void = () => undefined;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = new Worker(name, async () => hold, { connection: redis.connection, concurrency: 4 });
    await waitFor('both groups held', async () => {
      const held = await queue.getLimitedGroups();
      return held.throttledTotal === 1 && held.fullTotal === 1;
    });
    const held = await queue.getLimitedGroups();
    expect(held.throttled).toEqual([{ group: 'slow', waiting: 2, active: 1, until: expect.any(Date) }]);
    expect(held.throttled[0]!.until.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(held.full).toEqual([{ group: 'narrow', waiting: 2, active: 1 }]);
    expect(held.withWork).toBe(2);
    const window = await queue.getRateWindow();
    expect(window).toEqual({ limit: { max: 100, duration: 60_000 }, started: 2, heldUntil: null });
    release();
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });
});

describe('getMetricsHistory', () => {
  it('gives completed and failed per minute of Redis clock, zero-filled, and refuses a window it does not keep', async () => {
    const name = uniqueQueue('history');
    const queue = new Queue(name, { connection: redis.connection });
    expect((await queue.getMetricsHistory({ minutes: 3 })).map((m) => [m.completed, m.failed])).toEqual([[0, 0], [0, 0], [0, 0]]);
    // A read of a queue that does not exist creates nothing.
    expect(await admin.exists(queue.store.keys.meta)).toBe(0);
    await failedAndCompleted(queue, name, 4);
    const history = await queue.getMetricsHistory();
    expect(history).toHaveLength(180);
    const now = await queue.store.time();
    expect(history.at(-1)?.minute).toBe(Math.floor(now / 60_000) * 60_000);
    expect(history.every((m, i) => i === 0 || m.minute - history[i - 1]!.minute === 60_000)).toBe(true);
    // In this minute, or the one before when the minute turned during the test.
    const sum = history.reduce((total, m) => ({ completed: total.completed + m.completed, failed: total.failed + m.failed }), { completed: 0, failed: 0 });
    expect(sum).toEqual({ completed: 4, failed: 4 });
    expect(history.slice(0, -2).every((m) => m.completed === 0 && m.failed === 0)).toBe(true);
    await expect(queue.getMetricsHistory({ minutes: 181 })).rejects.toThrow('getMetricsHistory minutes must be an integer from 1 to 180, got 181');
    await expect(queue.getMetricsHistory({ minutes: 0 })).rejects.toBeInstanceOf(ValidationError);
    await queue.obliterate();
    expect((await queue.getMetricsHistory({ minutes: 2 })).map((m) => m.completed + m.failed)).toEqual([0, 0]);
    await queue.close();
  });
});

describe('runSchedule', () => {
  it("adds the schedule's job now, leaves its next run and run count alone, and a worker runs it", async () => {
    const name = uniqueQueue('run-now');
    const queue = new Queue(name, { connection: redis.connection });
    await queue.upsertSchedule('nightly', { cron: '0 3 * * *', tz: 'Europe/Paris', limit: 2 }, { name: 'report', data: { kind: 'nightly' }, opts: { priority: 0 } });
    const [before] = await queue.getSchedules();
    const at = await queue.store.time();
    const id = await queue.runSchedule('nightly');
    expect(id).toMatch(/^nightly:now:\d+$/);
    expect(Number(id!.slice('nightly:now:'.length))).toBeGreaterThanOrEqual(at);
    const job = await queue.getJob(id!);
    expect(job).toMatchObject({ name: 'report', data: { kind: 'nightly' }, priority: 0, state: 'waiting' });
    const [after] = await queue.getSchedules();
    expect(after).toMatchObject({ next: before!.next, runs: 0 });
    // Twice in a row: two jobs (a different ms each), still no run counted.
    await sleep(2);
    const again = await queue.runSchedule('nightly');
    expect(again).not.toBe(id);
    expect((await queue.getSchedules())[0]).toMatchObject({ next: before!.next, runs: 0 });
    const worker = new Worker(name, async (j) => j.data, { connection: redis.connection, schedules: false });
    await waitFor('both jobs ran', async () => (await queue.getCounts()).completed === 2);
    await worker.close();
    expect(await queue.runSchedule('missing')).toBeNull();
    await expect(queue.runSchedule('')).rejects.toBeInstanceOf(ValidationError);
    await queue.obliterate();
    // A queue that does not exist has no schedule, and asking creates nothing.
    expect(await queue.runSchedule('nightly')).toBeNull();
    expect(await admin.exists(queue.store.keys.meta)).toBe(0);
    await queue.close();
  });
});

import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Queue, Scheduler, ValidationError, Worker, type FiredTick } from 'sluice';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

const redis = useRedis();

/** Jobs whose id starts with `<scheduleId>:`, by id. */
async function tickJobs(queue: Queue, scheduleId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const state of ['waiting', 'active', 'completed', 'failed'] as const) {
    for (const job of await queue.getJobs(state, 0, 999)) if (job.id.startsWith(`${scheduleId}:`)) ids.push(job.id);
  }
  return ids.sort();
}

describe('upsertSchedule, getSchedules, removeSchedule', () => {
  it('stores a schedule with its next run, lists it with its job, and removes it', async () => {
    const queue = new Queue<{ kind: string }>(uniqueQueue('sched'), { connection: redis.connection });
    const startAt = new Date(Date.now() + 3_600_000);
    const { next, changed } = await queue.upsertSchedule('hourly', { every: 3_600_000, startAt, limit: 5 }, { name: 'report', data: { kind: 'hourly' }, opts: { priority: 0, attempts: 3 } });
    expect(changed).toBe(true);
    expect(next?.getTime()).toBe(startAt.getTime());
    await queue.upsertSchedule('berlin', { cron: '0 9 * * 1-5', tz: 'europe/berlin', missed: 'skip' }, { name: 'standup', data: { kind: 'cron' } });

    const schedules = await queue.getSchedules();
    expect(schedules.map((s) => s.id)).toEqual(['berlin', 'hourly']);
    const [berlin, hourly] = schedules;
    expect(hourly).toMatchObject({ spec: { every: 3_600_000, startAt, limit: 5, missed: 'once' }, next: startAt, runs: 0 });
    expect(hourly?.job).toMatchObject({ name: 'report', data: { kind: 'hourly' }, priority: 0, opts: { attempts: 3 } });
    // The time zone is stored by its canonical name; 09:00 in Berlin is 07:00 or 08:00 UTC.
    expect(berlin?.spec).toEqual({ cron: '0 9 * * 1-5', tz: 'Europe/Berlin', missed: 'skip' });
    expect([7, 8]).toContain(berlin?.next?.getUTCHours());

    expect(await queue.removeSchedule('hourly')).toBe(true);
    expect(await queue.removeSchedule('hourly')).toBe(false);
    expect((await queue.getSchedules()).map((s) => s.id)).toEqual(['berlin']);
    await queue.obliterate();
    expect(await queue.getSchedules()).toEqual([]);
    await queue.close();
  });

  it('10 concurrent upserts of one definition make one schedule; upserting it again leaves its next run alone', async () => {
    const name = uniqueQueue('sched-upsert');
    const queues = Array.from({ length: 10 }, () => new Queue(name, { connection: redis.connection }));
    const spec = { cron: '*/5 * * * *', tz: 'UTC' };
    const job = { name: 'tick', data: { a: 1, b: [1, 2] } };
    const first = await Promise.all(queues.map((q) => q.upsertSchedule('five', spec, job)));
    expect(first.filter((r) => r.changed)).toHaveLength(1);
    const next = first[0]?.next?.getTime();
    expect(next).toBeGreaterThan(Date.now() - 1000);
    for (const r of first) expect(r.next?.getTime()).toBe(next);

    const again = await Promise.all(queues.map((q) => q.upsertSchedule('five', spec, job)));
    expect(again.every((r) => !r.changed && r.next?.getTime() === next)).toBe(true);
    const listed = await queues[0]!.getSchedules();
    expect(listed.map((s) => [s.id, s.next?.getTime()])).toEqual([['five', next]]);

    // A changed definition recomputes the next run.
    const changed = await queues[0]!.upsertSchedule('five', { ...spec, startAt: new Date(next! + 3_600_000) }, job);
    expect(changed).toEqual({ changed: true, next: new Date(next! + 3_600_000) });
    await Promise.all(queues.map((q) => q.close()));
  });

  it('refuses an invalid cron, time zone, interval or job with ValidationError and writes nothing', async () => {
    const queue = new Queue(uniqueQueue('sched-invalid'), { connection: redis.connection });
    const client = new Redis(redis.url);
    const job = { name: 'x', data: {} };
    const bad: [unknown, unknown, RegExp][] = [
      [{ cron: '61 * * * *' }, job, /cron '61 \* \* \* \*' is not valid/],
      [{ cron: 'every monday' }, job, /is not valid/],
      [{ cron: '0 9 * * *', tz: 'Mars/Olympus' }, job, /tz 'Mars\/Olympus'/],
      [{ every: 0 }, job, /every \(ms\) must be an integer >= 1, got 0/],
      [{ every: -5 }, job, /every/],
      [{ every: 1.5 }, job, /every/],
      [{ every: 1000, cron: '* * * * *' }, job, /exactly one of cron and every/],
      [{ every: 1000, tz: 'UTC' }, job, /tz applies to cron only/],
      [{ every: 1000, limit: 0 }, job, /limit/],
      [{ every: 1000, missed: 'all' }, job, /missed must be 'once' or 'skip'/],
      [{ every: 1000, startAt: new Date(2000), endAt: new Date(1000) }, job, /endAt is before its startAt/],
      [{ every: 1000, startAt: 'tomorrow' }, job, /startAt must be a valid Date/],
      [{ every: 1000, when: 'now' }, job, /unknown schedule field 'when'/],
      [{ every: 1000 }, { name: 'x', data: {}, opts: { jobId: 'mine' } }, /may not set 'jobId'/],
      [{ every: 1000 }, { name: '', data: {} }, /job name/],
      [{ every: 1000 }, { name: 'x', data: () => 1 }, /function/],
    ];
    for (const [spec, given, message] of bad) {
      await expect(queue.upsertSchedule('bad', spec as never, given as never), JSON.stringify(spec)).rejects.toThrow(message);
    }
    await expect(queue.upsertSchedule('', { every: 1000 }, job)).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.upsertSchedule('x'.repeat(201), { every: 1000 }, job)).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.upsertSchedule('bad', { cron: 'nope' }, job)).rejects.toBeInstanceOf(ValidationError);
    expect(await client.exists(queue.store.keys.schedules, queue.store.keys.scheduleNext)).toBe(0);
    await client.quit();
    await queue.close();
  });
});

describe('upsertSchedule: hashed cron fields, dates before 1970, the end of the Date range', () => {
  const job = { name: 'x', data: {} };

  it('H is seeded by the schedule id: the same schedule gets the same ticks in every queue, process and upsert', async () => {
    const queues = ['a', 'b', 'c'].map((n) => new Queue(uniqueQueue(`sched-hash-${n}`), { connection: redis.connection }));
    const spec = { cron: 'H H * * *', tz: 'UTC' };
    const nexts = await Promise.all(queues.map(async (q) => (await q.upsertSchedule('nightly', spec, job)).next?.getTime()));
    expect(nexts[0]).toBeGreaterThan(Date.now() - 1000);
    expect(nexts).toEqual([nexts[0], nexts[0], nexts[0]]);
    // A changed definition recomputes the next run from now: the hashed minute and hour stay.
    const [queue] = queues;
    for (const n of [1, 2, 3]) {
      const changed = await queue!.upsertSchedule('nightly', spec, { name: 'x', data: { n } });
      expect(changed).toEqual({ changed: true, next: new Date(nexts[0]!) });
    }
    await Promise.all(queues.map((q) => q.close()));
  });

  it("a runner fires an H schedule's tick and computes its next run with the same seed", async () => {
    const name = uniqueQueue('sched-hash-fire');
    const queue = new Queue(name, { connection: redis.connection });
    const client = new Redis(redis.url);
    const day = 86_400_000;
    // Daily at a minute and hour picked by the id; the first run is up to a day away, so it is not reached here.
    const { next } = await queue.upsertSchedule('daily', { cron: 'H H * * *' }, job);
    const first = next?.getTime() ?? 0;
    // As if nothing had fired the day before's tick: due, on the same hashed minute and hour.
    await client.zadd(queue.store.keys.scheduleNext, first - day, 'daily');
    const worker = new Worker(name, async () => undefined, { connection: redis.connection });
    await waitFor('the due tick ran', async () => (await tickJobs(queue, 'daily')).length === 1);
    expect(await tickJobs(queue, 'daily')).toEqual([`daily:${first - day}`]);
    await waitFor('the next run moved on', async () => (await queue.getSchedules())[0]?.next?.getTime() !== first - day);
    expect((await queue.getSchedules())[0]?.next?.getTime()).toBe(first);
    await worker.close();
    await client.quit();
    await queue.close();
  });

  it('an endAt in 1969, at 0 or at -1 ms ends the schedule; getSchedules shows the date', async () => {
    const queue = new Queue(uniqueQueue('sched-1969'), { connection: redis.connection });
    const client = new Redis(redis.url);
    for (const [id, endAt] of [['moon', new Date('1969-07-20T20:17:00Z')], ['epoch', new Date(0)], ['before', new Date(-1)]] as const) {
      expect(await queue.upsertSchedule(id, { every: 1000, endAt }, job), id).toEqual({ changed: true, next: null });
      expect(await queue.upsertSchedule(`${id}-cron`, { cron: '* * * * *', endAt }, job), id).toEqual({ changed: true, next: null });
    }
    expect(await client.zcard(queue.store.keys.scheduleNext)).toBe(0);
    const moon = (await queue.getSchedules()).find((s) => s.id === 'moon');
    expect(moon).toMatchObject({ spec: { every: 1000, endAt: new Date('1969-07-20T20:17:00Z'), missed: 'once' }, next: null, runs: 0 });
    await client.quit();
    await queue.close();
  });

  it('refuses an endAt before its startAt before 1970 too, and writes nothing', async () => {
    const queue = new Queue(uniqueQueue('sched-1969-bad'), { connection: redis.connection });
    const client = new Redis(redis.url);
    for (const [startAt, endAt] of [[5000, -5000], [-5000, -10_000], [0, -1]]) {
      await expect(queue.upsertSchedule('bad', { every: 1000, startAt: new Date(startAt!), endAt: new Date(endAt!) }, job)).rejects.toThrow(/endAt is before its startAt/);
    }
    expect(await client.exists(queue.store.keys.schedules, queue.store.keys.scheduleNext)).toBe(0);
    await client.quit();
    await queue.close();
  });

  it('a startAt before 1970 sets the phase, and runners fire such schedules from their stored definitions', async () => {
    const name = uniqueQueue('sched-1969-fire');
    const queue = new Queue(name, { connection: redis.connection });
    // Half-second ticks: startAt 500 ms before the epoch.
    const { next } = await queue.upsertSchedule('half', { every: 1000, startAt: new Date(-500), limit: 2 }, job);
    expect(next!.getTime() % 1000).toBe(500);
    await queue.upsertSchedule('cron', { cron: '* * * * * *', startAt: new Date('1969-01-01T00:00:00Z'), limit: 2 }, job);
    expect((await queue.getSchedules()).find((s) => s.id === 'half')?.spec).toEqual({ every: 1000, startAt: new Date(-500), limit: 2, missed: 'once' });
    const worker = new Worker(name, async () => undefined, { connection: redis.connection });
    await waitFor('both schedules ran out', async () => (await queue.getSchedules()).every((s) => s.runs === 2 && s.next === null));
    // And their jobs ran: tickJobs reads one state after another, so a job that completes in between
    // would be listed twice (active, then completed).
    await waitFor('the four tick jobs to complete', async () => (await queue.getCounts()).completed === 4);
    const half = await tickJobs(queue, 'half');
    expect(half.map((id) => Number(id.split(':')[1]) % 1000)).toEqual([500, 500]);
    expect((await tickJobs(queue, 'cron')).map((id) => Number(id.split(':')[1]) % 1000)).toEqual([0, 0]);
    await worker.close();
    await queue.close();
  });

  it('an every whose next tick is past the last Date gives next: null, never an Invalid Date', async () => {
    const name = uniqueQueue('sched-far');
    const queue = new Queue(name, { connection: redis.connection });
    expect(await queue.upsertSchedule('never', { every: Number.MAX_SAFE_INTEGER }, job)).toEqual({ changed: true, next: null });
    // The last Date is still a tick, and its score goes through Redis and back exactly.
    expect(await queue.upsertSchedule('last', { every: 8.64e15 }, job)).toEqual({ changed: true, next: new Date(8.64e15) });
    // One run at startAt; the tick after it would be past the Date range, so firing it ends the schedule.
    const startAt = new Date(Date.now() + 1000);
    expect(await queue.upsertSchedule('once', { every: 8.64e15, startAt }, job)).toEqual({ changed: true, next: startAt });
    const worker = new Worker(name, async () => undefined, { connection: redis.connection });
    await waitFor('the one tick ran', async () => (await tickJobs(queue, 'once')).length === 1);
    await waitFor('the schedule ended', async () => (await queue.getSchedules()).find((s) => s.id === 'once')?.next === null);
    const schedules = await queue.getSchedules();
    expect(schedules.map((s) => [s.id, s.next, s.runs])).toEqual([['last', new Date(8.64e15), 0], ['never', null, 0], ['once', null, 1]]);
    expect(await tickJobs(queue, 'once')).toEqual([`once:${startAt.getTime()}`]);
    await worker.close();
    await queue.close();
  });
});

describe('firing', () => {
  it('a worker fires each tick once with the id <schedule>:<tick>, until the limit ends the schedule', async () => {
    const name = uniqueQueue('sched-fire');
    const queue = new Queue(name, { connection: redis.connection });
    const startAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    await queue.upsertSchedule('fast', { every: 200, startAt, limit: 3 }, { name: 'tick', data: { n: 1 } });
    const fired: FiredTick[] = [];
    const done: string[] = [];
    const worker = new Worker(name, async (job) => void done.push(job.id), { connection: redis.connection });
    worker.on('scheduleFired', (tick) => fired.push(tick));
    await waitFor('three ticks run', () => done.length === 3);
    const expected = [0, 200, 400].map((ms) => `fast:${startAt.getTime() + ms}`);
    expect(done.sort()).toEqual(expected);
    expect(fired.map((f) => f.jobId).sort()).toEqual(expected);
    expect(fired.map((f) => f.tick.getTime()).sort()).toEqual([0, 200, 400].map((ms) => startAt.getTime() + ms));
    const [schedule] = await queue.getSchedules();
    expect(schedule).toMatchObject({ id: 'fast', next: null, runs: 3 });
    await worker.close();
    await queue.close();
  });

  it('a Scheduler fires schedules and promotes delayed jobs with no worker running', async () => {
    const name = uniqueQueue('sched-alone');
    const queue = new Queue(name, { connection: redis.connection, priorityLevels: 5 });
    await queue.add('later', {}, { delay: 300, jobId: 'later' });
    await queue.upsertSchedule('soon', { every: 250, limit: 2 }, { name: 'tick', data: {}, opts: { priority: 4 } });
    // No priorityLevels given: the Scheduler reads the 5 the queue recorded.
    const scheduler = new Scheduler(name, { connection: redis.connection });
    const fired: FiredTick[] = [];
    scheduler.on('fired', (tick) => fired.push(tick));
    // 'fired' is emitted once the Scheduler has read its script's reply, which can come after the counts show
    // the jobs: wait for both.
    await waitFor('the delayed job promoted and two ticks enqueued', async () => fired.length >= 2 && (await queue.getCounts()).waiting === 3);
    expect(fired).toHaveLength(2);
    expect((await tickJobs(queue, 'soon')).length).toBe(2);
    expect((await queue.getJob(fired[0]!.jobId))?.priority).toBe(4);
    expect(await (await queue.getJob('later'))?.getState()).toBe('waiting');
    await scheduler.close();
    await queue.close();
  });

  it('missed ticks: "once" runs one job for the latest missed tick, "skip" runs none; both move to the next future tick', async () => {
    const name = uniqueQueue('sched-missed');
    const queue = new Queue(name, { connection: redis.connection });
    const client = new Redis(redis.url);
    const hour = 3_600_000;
    // Ticks every hour from 2.5 hours ago: the latest one was 30 minutes ago, the next is 30 minutes away.
    const startAt = Date.now() - 2.5 * hour;
    for (const missed of ['once', 'skip'] as const) {
      const { next } = await queue.upsertSchedule(missed, { every: hour, startAt: new Date(startAt), missed }, { name: missed, data: {} });
      expect(next?.getTime()).toBe(startAt + 3 * hour);
      // What Redis holds when nothing ran since the first tick, 2.5 hours ago: the next run is still that tick.
      await client.zadd(queue.store.keys.scheduleNext, startAt, missed);
    }
    const worker = new Worker(name, async () => undefined, { connection: redis.connection });
    await waitFor('both schedules moved on', async () => (await queue.getSchedules()).every((s) => (s.next?.getTime() ?? 0) > Date.now()));
    await waitFor('the one job ran', async () => (await queue.getCounts()).completed === 1);
    expect(await tickJobs(queue, 'once')).toEqual([`once:${startAt + 2 * hour}`]);
    expect(await tickJobs(queue, 'skip')).toEqual([]);
    const schedules = await queue.getSchedules();
    expect(schedules.map((s) => [s.id, s.next?.getTime(), s.runs])).toEqual([
      ['once', startAt + 3 * hour, 1],
      ['skip', startAt + 3 * hour, 0],
    ]);
    await worker.close();
    await client.quit();
    await queue.close();
  });

  it('a worker with schedules: false fires nothing', async () => {
    const name = uniqueQueue('sched-off');
    const queue = new Queue(name, { connection: redis.connection });
    const client = new Redis(redis.url);
    await queue.upsertSchedule('due', { every: 60_000 }, { name: 'x', data: {} });
    await client.zadd(queue.store.keys.scheduleNext, Date.now() - 1000, 'due');
    const idle = new Worker(name, async () => undefined, { connection: redis.connection, schedules: false });
    await queue.add('marker', {}, { jobId: 'marker' });
    await waitFor('the worker is running', async () => (await queue.getCounts()).completed === 1);
    expect(await tickJobs(queue, 'due')).toEqual([]);
    const busy = new Worker(name, async () => undefined, { connection: redis.connection });
    await waitFor('a worker with schedules fires it', async () => (await tickJobs(queue, 'due')).length === 1);
    await Promise.all([idle.close(), busy.close()]);
    await client.quit();
    await queue.close();
  });
});

import { describe, expect, it } from 'vitest';
import { ScheduleStore, type FireInput } from '../../src/redis/schedule-store.js';
import { Status } from '../../src/redis/status.js';
import { prepareSchedule } from '../../src/schedules/definition.js';
import { encode } from '../../src/serializer.js';
import { useRedis } from '../harness/redis.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

const schedules = (): ScheduleStore => new ScheduleStore(lua.client, lua.store.keys, 100);
const definition = (every = 1000, data: unknown = { n: 1 }): Buffer => prepareSchedule('s', { every }, { name: 'tick', data }, {}, 3, 1024).encoded;

function fireInput(def: Buffer, expected: number, overrides: Partial<FireInput> = {}): FireInput {
  return {
    scheduleId: 's',
    definition: def,
    expected,
    next: expected + 1000,
    limit: -1,
    jobId: `s:${expected}`,
    name: 'tick',
    data: encode({ n: 1 }, 'data', 1024),
    opts: encode({}, 'opts', 1024),
    prio: 1,
    group: '',
    ...overrides,
  };
}

describe('upsert-schedule', () => {
  it('is idempotent: the same bytes change nothing and keep the stored next run; other bytes replace it', async () => {
    const store = schedules();
    const def = definition();
    expect(await store.upsert('s', def, 5000, -1)).toEqual({ changed: true, next: 5000 });
    expect(await store.upsert('s', def, 9000, -1)).toEqual({ changed: false, next: 5000 });
    expect(await lua.client.zscore(lua.store.keys.scheduleNext, 's')).toBe('5000');
    expect(await store.upsert('s', definition(2000), 9000, -1)).toEqual({ changed: true, next: 9000 });
    expect((await lua.client.hgetBuffer(lua.store.keys.schedules, 's'))?.equals(definition(2000))).toBe(true);
  });

  it('stores a schedule without a next run when there is none, or its limit is already reached', async () => {
    const store = schedules();
    expect(await store.upsert('none', definition(), -1, -1)).toEqual({ changed: true, next: -1 });
    await lua.client.hset(lua.store.keys.scheduleRuns, 'done', 3);
    expect(await store.upsert('done', definition(), 5000, 3)).toEqual({ changed: true, next: -1 });
    expect(await lua.client.zcard(lua.store.keys.scheduleNext)).toBe(0);
    expect((await store.list()).map((s) => [s.id, s.next, s.runs])).toEqual([['done', -1, 3], ['none', -1, 0]]);
  });
});

describe('fire-schedule', () => {
  it('enqueues the tick job once and moves the next run; a second caller with the same tick gets STALE', async () => {
    const store = schedules();
    const def = definition();
    const { now } = await store.soonest(0);
    const tick = now - 10;
    await store.upsert('s', def, tick, -1);
    expect(await store.fire(fireInput(def, tick))).toEqual({ status: Status.OK, next: tick + 1000 });
    expect(await store.fire(fireInput(def, tick))).toEqual({ status: Status.STALE, next: tick + 1000 });
    const counts = await lua.store.getCounts();
    expect(counts.waiting).toBe(1);
    const job = await lua.store.getJob(`s:${tick}`);
    expect(job?.state).toBe('waiting');
    expect(job?.name).toBe('tick');
    expect((await store.list())[0]).toMatchObject({ id: 's', next: tick + 1000, runs: 1 });
    const events = await lua.client.xrange(lua.store.keys.events, '-', '+');
    expect(events.flatMap(([, fields]) => fields)).toContain(`s:${tick}`);
  });

  it('refuses a tick that is not due on Redis\' clock, or planned from another definition, and writes nothing', async () => {
    const store = schedules();
    const def = definition();
    const { now } = await store.soonest(0);
    await store.upsert('s', def, now + 60_000, -1);
    expect(await store.fire(fireInput(def, now + 60_000))).toEqual({ status: Status.NOT_DUE, next: now + 60_000 });
    await lua.client.zadd(lua.store.keys.scheduleNext, now - 5, 's');
    expect(await store.fire(fireInput(definition(1000, { n: 2 }), now - 5))).toEqual({ status: Status.STALE, next: now - 5 });
    expect(await store.fire(fireInput(def, now - 6))).toEqual({ status: Status.STALE, next: now - 5 });
    expect(await store.fire(fireInput(def, now - 5, { scheduleId: 'gone' }))).toEqual({ status: Status.STALE, next: -1 });
    expect((await lua.store.getCounts()).waiting).toBe(0);
    expect(await lua.client.hlen(lua.store.keys.scheduleRuns)).toBe(0);
  });

  it('ends the schedule at its limit, or when told there is no next run', async () => {
    const store = schedules();
    const def = definition();
    const { now } = await store.soonest(0);
    await store.upsert('s', def, now - 3000, 2);
    expect(await store.fire(fireInput(def, now - 3000, { limit: 2 }))).toEqual({ status: Status.OK, next: now - 2000 });
    expect(await store.fire(fireInput(def, now - 2000, { limit: 2 }))).toEqual({ status: Status.OK, next: -1 });
    expect((await store.list())[0]).toMatchObject({ next: -1, runs: 2 });

    await store.upsert('t', def, now - 1000, -1);
    expect(await store.fire(fireInput(def, now - 1000, { scheduleId: 't', jobId: 't:1', next: -1 }))).toEqual({ status: Status.OK, next: -1 });
    expect(await lua.client.zscore(lua.store.keys.scheduleNext, 't')).toBeNull();
  });

  it("moves on without a job for a skipped tick, and does not create a tick's job twice", async () => {
    const store = schedules();
    const def = definition();
    const { now } = await store.soonest(0);
    await store.upsert('s', def, now - 3000, -1);
    expect(await store.fire(fireInput(def, now - 3000, { jobId: '' }))).toEqual({ status: Status.OK, next: now - 2000 });
    expect((await lua.store.getCounts()).waiting).toBe(0);
    await lua.store.add([input({ jobId: `s:${now - 2000}` })]);
    expect(await store.fire(fireInput(def, now - 2000))).toEqual({ status: Status.DUPLICATE, next: now - 1000 });
    expect((await lua.store.getCounts()).waiting).toBe(1);
    expect((await store.list())[0]?.runs).toBe(0);
  });

  it('puts a grouped tick job in its group', async () => {
    const store = schedules();
    const def = definition();
    const { now } = await store.soonest(0);
    await store.upsert('s', def, now - 1, -1);
    await store.fire(fireInput(def, now - 1, { group: 'tenant-1' }));
    expect(await lua.store.getGroup('tenant-1')).toMatchObject({ waiting: 1, state: 'ready' });
  });
});

describe('run-schedule', () => {
  const job = { name: 'tick', data: encode({ n: 1 }, 'data', 1024), opts: encode({}, 'opts', 1024), prio: 1, group: '' };

  it('enqueues the job now under <id>:now:<ms>, leaving the next run and run count alone', async () => {
    const store = schedules();
    const def = definition();
    await store.upsert('s', def, 5000, 3);
    const now = await lua.store.time();
    const { status, jobId } = await store.runNow('s', def, job);
    expect(status).toBe(Status.OK);
    expect(Number(jobId.replace(/^s:now:/, ''))).toBeGreaterThanOrEqual(now);
    expect((await lua.store.getJob(jobId))?.state).toBe('waiting');
    expect(await lua.client.zscore(lua.store.keys.scheduleNext, 's')).toBe('5000');
    expect(await lua.client.hget(lua.store.keys.scheduleRuns, 's')).toBeNull();
  });

  it('refuses a definition that changed or was removed since the caller read it, and writes nothing', async () => {
    const store = schedules();
    await store.upsert('s', definition(), 5000, -1);
    await store.upsert('s', definition(2000), 5000, -1);
    expect(await store.runNow('s', definition(), job)).toEqual({ status: Status.STALE, jobId: '' });
    await store.remove('s');
    expect(await store.runNow('s', definition(2000), job)).toEqual({ status: Status.STALE, jobId: '' });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0 });
  });
});

describe('due-schedules, remove-schedule, promote-delayed, obliterate', () => {
  it('returns the soonest schedules with definitions only for the due ones', async () => {
    const store = schedules();
    const { now } = await store.soonest(0);
    await store.upsert('due', definition(), now - 1, -1);
    await store.upsert('later', definition(), now + 60_000, -1);
    const { schedules: soon } = await store.soonest(10);
    expect(soon.map((s) => [s.id, s.next, s.definition !== null])).toEqual([['due', now - 1, true], ['later', now + 60_000, false]]);
    expect((await store.soonest(1)).schedules.map((s) => s.id)).toEqual(['due']);
  });

  it('removes a schedule with its next run and count', async () => {
    const store = schedules();
    await store.upsert('s', definition(), 5000, -1);
    await lua.client.hset(lua.store.keys.scheduleRuns, 's', 4);
    expect(await store.remove('s')).toBe(true);
    expect(await store.remove('s')).toBe(false);
    expect(await lua.client.exists(lua.store.keys.schedules, lua.store.keys.scheduleNext, lua.store.keys.scheduleRuns)).toBe(0);
  });

  it('promotes due delayed jobs and says when the next one is due', async () => {
    const store = schedules();
    await lua.store.add([input({ jobId: 'now', delay: 1 }), input({ jobId: 'later', delay: 60_000 })]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const result = await store.promote(10);
    expect(result).toMatchObject({ promoted: 1 });
    expect(result !== 'needs-init' && result.nextDueMs > 50_000 && result.nextDueMs <= 60_000).toBe(true);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, delayed: 1 });
    await lua.store.obliterate(true, 1000);
    await lua.store.obliterate(true, 1000);
    expect(await store.promote(10)).toBe('needs-init');
  });

  it('obliterate deletes the schedule keys', async () => {
    const store = schedules();
    await store.upsert('s', definition(), 5000, -1);
    await lua.client.hset(lua.store.keys.scheduleRuns, 's', 1);
    while ((await lua.store.obliterate(true, 1000)) > 0);
    expect(await lua.client.exists(lua.store.keys.schedules, lua.store.keys.scheduleNext, lua.store.keys.scheduleRuns)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { KEEP_ALL } from '../../src/options.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

async function claim(count: number, consumer = 'a'): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim(consumer, count, 100);
  return claimed.kind === 'jobs' ? claimed.jobs : [];
}
const complete = (jobs: ClaimedJob[]) => lua.store.complete(jobs.map((job) => ({ job, result: Buffer.alloc(0), keep: KEEP_ALL })));
const grouped = (group: string, n: number, prefix = group) => Array.from({ length: n }, (_, i) => input({ group, jobId: `${prefix}-${i}` }));

describe('queue-wide rate limit', () => {
  it('starts at most max jobs per window, and says when the next may start', async () => {
    await lua.store.setRateLimit({ max: 3, duration: 300 });
    await lua.store.add(Array.from({ length: 7 }, () => input()));
    expect(await claim(10)).toHaveLength(3);
    const held = await lua.store.claim('a', 10, 100);
    expect(held.kind).toBe('empty');
    if (held.kind === 'empty') {
      expect(held.nextDueMs).toBeGreaterThan(0);
      expect(held.nextDueMs).toBeLessThanOrEqual(300);
    }
    await sleep(320);
    expect(await claim(10)).toHaveLength(3);
    await lua.store.setRateLimit(null);
    expect(await claim(10)).toHaveLength(1);
  });

  it('counts grouped and ungrouped starts against the same limit', async () => {
    await lua.store.setRateLimit({ max: 4, duration: 60_000 });
    await lua.store.add([...grouped('g', 3), input(), input(), input()]);
    expect(await claim(10)).toHaveLength(4);
    expect(await claim(10)).toHaveLength(0);
  });
});

describe('groups', () => {
  it('serves groups round-robin: a big group does not delay small ones', async () => {
    await lua.store.add(grouped('big', 50));
    await lua.store.add([...grouped('small-a', 2), ...grouped('small-b', 2)]);
    const ids = (await claim(6)).map((j) => j.id);
    expect(ids).toEqual(['big-0', 'small-a-0', 'small-b-0', 'big-1', 'small-a-1', 'small-b-1']);
    const next = await claim(3);
    expect(next.map((j) => j.id)).toEqual(['big-2', 'big-3', 'big-4']);
    expect(next.every((j) => j.stream === 3)).toBe(true);
  });

  it('gives ungrouped jobs one turn per pass, as one more member of the ring', async () => {
    await lua.store.add([...grouped('g', 5), input({ jobId: 'plain-1' }), input({ jobId: 'plain-2' }), input({ jobId: 'plain-3' })]);
    expect((await claim(6)).map((j) => j.id).sort()).toEqual(['g-0', 'g-1', 'g-2', 'plain-1', 'plain-2', 'plain-3']);
  });

  it('orders a group by priority, then by age', async () => {
    await lua.store.add([input({ group: 'g', jobId: 'low', prio: 2 }), input({ group: 'g', jobId: 'urgent', prio: 0 }), input({ group: 'g', jobId: 'normal', prio: 1 })]);
    expect((await claim(3)).map((j) => [j.id, j.priority])).toEqual([['urgent', 0], ['normal', 1], ['low', 2]]);
  });

  it('holds a group at its rate limit without stopping other groups, and counts its jobs as limited', async () => {
    await lua.store.setGroupLimit('', { max: 2, duration: 60_000 });
    await lua.store.add([...grouped('a', 5), ...grouped('b', 1)]);
    const first = await claim(10);
    expect(first.map((j) => j.id).sort()).toEqual(['a-0', 'a-1', 'b-0']);
    expect(await lua.store.getGroup('a')).toEqual({ waiting: 3, active: 2, state: 'throttled' });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 3, active: 3, limited: 3 });
    const held = await lua.store.claim('a', 10, 100);
    expect(held.kind === 'empty' && held.nextDueMs > 59_000).toBe(true);
  });

  it('holds a group at its concurrency until one of its jobs settles', async () => {
    await lua.store.setGroupLimit('solo', { concurrency: 1 });
    await lua.store.add([...grouped('solo', 3), ...grouped('other', 3)]);
    const first = await claim(10);
    expect(first.filter((j) => j.id.startsWith('solo'))).toHaveLength(1);
    expect(first.filter((j) => j.id.startsWith('other'))).toHaveLength(3);
    expect(await lua.store.getGroup('solo')).toMatchObject({ state: 'full', active: 1, waiting: 2 });
    expect(await claim(10)).toHaveLength(0);
    await complete(first.filter((j) => j.id === 'solo-0'));
    expect((await claim(10)).map((j) => j.id)).toEqual(['solo-1']);
  });

  it('applies a changed or removed group limit from the next claim on', async () => {
    await lua.store.setGroupLimit('', { max: 1, duration: 60_000 });
    await lua.store.add(grouped('g', 3));
    expect(await claim(10)).toHaveLength(1);
    expect(await claim(10)).toHaveLength(0);
    await lua.store.setGroupLimit('g', { max: 2, duration: 60_000 });
    expect(await claim(10)).toHaveLength(1);
    await lua.store.setGroupLimit('g', null);
    await lua.store.setGroupLimit('', null);
    expect(await claim(10)).toHaveLength(1);
    expect(await lua.store.getGroup('g')).toMatchObject({ state: 'idle', waiting: 0 });
  });

  it('gives a stalled grouped job back to its group, and its concurrency slot too', async () => {
    await lua.store.setGroupLimit('', { concurrency: 1 });
    await lua.store.add(grouped('g', 2));
    const [job] = await claim(10);
    expect(job!.id).toBe('g-0');
    expect(await lua.store.recoverStalled('reaper', 0, 5, 100)).toEqual({ requeued: 1, failed: 0, strays: [] });
    expect(await lua.store.getGroup('g')).toMatchObject({ waiting: 2, active: 0 });
    // Back of its group, as a stalled ungrouped job goes to the back of its stream; the slot is free again.
    expect((await claim(10)).map((j) => j.id)).toEqual(['g-1']);
    expect(await lua.store.getGroup('g')).toMatchObject({ waiting: 1, active: 1, state: 'full' });
  });
});

describe('release (RateLimitError)', () => {
  it('puts the job back without using an attempt and holds only its group', async () => {
    await lua.store.add([...grouped('slow', 2), ...grouped('fast', 2)]);
    const jobs = await claim(2);
    const slow = jobs.find((j) => j.id === 'slow-0')!;
    expect((await lua.store.release([{ job: slow, holdMs: 250 }])).statuses).toEqual([Status.OK]);
    const raw = await lua.store.getJob('slow-0');
    // No attempt used, but the run started: attemptsStarted keeps it.
    expect([raw?.state, raw?.attemptsMade, raw?.attemptsStarted]).toEqual(['waiting', 0, 1]);
    expect((await claim(10)).map((j) => j.id)).toEqual(['fast-1']);
    expect(await lua.store.getGroup('slow')).toMatchObject({ state: 'throttled', waiting: 2 });
    await sleep(270);
    expect((await claim(10)).map((j) => j.id).sort()).toEqual(['slow-0', 'slow-1']);
  });

  it('holds the whole queue for an ungrouped job', async () => {
    await lua.store.add([input({ jobId: 'x' }), input({ jobId: 'y' })]);
    const [x] = await claim(1);
    expect(x!.id).toBe('x');
    await lua.store.release([{ job: x!, holdMs: 200 }]);
    await lua.store.add(grouped('g', 1));
    expect(await claim(10)).toHaveLength(0);
    await sleep(220);
    expect(await claim(10)).toHaveLength(3);
  });
});

describe('release keeps the place of an ungrouped job (its level\'s front)', () => {
  const ids = (jobs: { id: string }[]): string[] => jobs.map((j) => j.id);

  it('serves it before its level\'s stream and after lower levels, in the order the jobs had, counted and listed as waiting', async () => {
    const added = await lua.store.add(Array.from({ length: 5 }, () => input()));
    const [a, b, c, d, e] = added.map((j) => j.id);
    const first = await claim(3);
    expect(ids(first)).toEqual([a, b, c]);
    // Given back out of order: the front keeps the order they had.
    expect((await lua.store.release([{ job: first[2]!, holdMs: 0 }, { job: first[0]!, holdMs: 0 }])).statuses).toEqual([Status.OK, Status.OK]);
    const [urgent] = await lua.store.add([input({ prio: 0 })]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 5, active: 1 });
    expect(ids(await lua.store.getJobs('waiting', 0, 10))).toEqual([urgent!.id, a, c, d, e]);
    expect((await lua.store.getJob(a!))?.state).toBe('waiting');
    const metrics = await lua.store.getMetrics();
    expect(metrics.waitingByLevel).toEqual([1, 4, 0]);
    expect(ids(await claim(2))).toEqual([urgent!.id, a]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 3, active: 3 });
    expect(ids(await claim(10))).toEqual([c, d, e]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 6 });
    expect(await lua.client.hget(lua.store.keys.meta, 'front')).toBe('0');
    // With the hold over and the fronts empty, the next claim drops the hold: claim looks at fronts no more.
    await claim(1);
    expect(await lua.client.hexists(lua.store.keys.meta, 'hold')).toBe(0);
  });

  it('gives the same place to a job given back twice, and a removed or obliterated front job leaves nothing behind', async () => {
    const [a, b, c] = (await lua.store.add(Array.from({ length: 3 }, () => input()))).map((j) => j.id);
    let [job] = await claim(1);
    await lua.store.release([{ job: job!, holdMs: 0 }]);
    [job] = await claim(1);
    expect(job!.id).toBe(a);
    await lua.store.release([{ job: job!, holdMs: 0 }]);
    const [second] = await claim(1);
    await lua.store.release([{ job: second!, holdMs: 0 }]);
    expect(ids(await lua.store.getJobs('waiting', 0, 10))).toEqual([a, b, c]);
    expect(ids(await claim(1))).toEqual([a]);
    const [stillB] = await claim(1);
    expect(stillB!.id).toBe(b);
    await lua.store.release([{ job: stillB!, holdMs: 0 }]);
    expect(await lua.store.removeJob(b!)).toBe(Status.OK);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 1, active: 1 });
    expect(await lua.client.exists(lua.store.keys.front(1))).toBe(0);
    const [third] = await claim(1);
    expect(third!.id).toBe(c);
    await lua.store.release([{ job: third!, holdMs: 0 }]);
    expect(await lua.client.zcard(lua.store.keys.front(1))).toBe(1);
    while ((await lua.store.obliterate(true, 1000)) > 0);
    const left = await lua.client.keys(`${lua.store.keys.base}*`);
    expect(left).toEqual([]);
  });

  it('serves a grouped job given back before the rest of its group, at the place it had', async () => {
    await lua.store.add(grouped('g', 3));
    const [g0] = await claim(1);
    expect(g0!.id).toBe('g-0');
    await lua.store.release([{ job: g0!, holdMs: 0 }]);
    expect(ids(await lua.store.getJobs('waiting', 0, 10))).toEqual(['g-0', 'g-1', 'g-2']);
    expect(ids(await claim(3))).toEqual(['g-0', 'g-1', 'g-2']);
  });
});

describe('bookkeeping', () => {
  it('keeps getCounts exact across grouped adds, claims, settles and removal', async () => {
    await lua.store.add([...grouped('a', 3), ...grouped('b', 2), input(), input({ group: 'c', delay: 60_000 })]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 6, delayed: 1, active: 0 });
    const jobs = await claim(3);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 3, active: 3 });
    await complete(jobs);
    expect(await lua.store.removeJob('a-2')).toBe(Status.OK);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, active: 0, completed: 3 });
    expect((await lua.store.getJobs('waiting', 0, 99)).map((j) => j.id).sort()).toEqual(['a-1', 'b-1'].sort());
    expect(await lua.client.hget(lua.store.keys.meta, 'gwaiting')).toBe('2');
  });

  it('leaves no key behind on obliterate, groups included', async () => {
    await lua.store.setGroupLimit('', { concurrency: 1 });
    await lua.store.add([...grouped('a', 3), input()]);
    await claim(2);
    while ((await lua.store.obliterate(true, 2)) > 0);
    expect(await lua.client.keys(`${lua.store.keys.base.replace(/[{}]/g, '\\$&')}*`)).toEqual([]);
  });
});

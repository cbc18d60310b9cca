import { describe, expect, it } from 'vitest';
import { ControlStore } from '../../src/redis/control-store.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import type { AddInput } from '../../src/redis/store.js';
import { Status } from '../../src/redis/status.js';
import { useRedis } from '../harness/redis.js';
import { input, useStore } from './store.js';

const redis = useRedis();
const lua = useStore(redis);

const add = async (jobs: Partial<AddInput>[]): Promise<string[]> => (await lua.store.add(jobs.map((job) => input(job)))).map((added) => added.id);
async function claim(count: number): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim('w', count, 100);
  return claimed.kind === 'jobs' ? claimed.jobs : [];
}

describe('drain', () => {
  it('removes waiting jobs wherever they wait (streams, groups, fronts) and delayed ones, keeps running ones, counts exact', async () => {
    await add([{}, {}]);
    const running = await claim(2);
    // One of them given back by a RateLimitError: it waits in its level's front.
    const [released, kept] = running as [ClaimedJob, ClaimedJob];
    await lua.store.release([{ job: released, holdMs: 0 }]);
    expect(await lua.client.hget(lua.store.keys.meta, 'front')).toBe('1');
    await add([{}, {}, { jobId: 'named' }, { prio: 0 }, { prio: 2 }]);
    await add([{ delay: 60_000 }, { delay: 60_000, group: 'g' }, { group: 'g' }, { group: 'h' }, { labels: 'l' }]);
    await ControlStore.of(lua.store).addDeduped(input(), { key: 'k' }, 0);
    const before = await lua.store.getCounts();
    expect(before).toMatchObject({ active: 1, delayed: 2 });
    const waiting = before.waiting + before.paused;

    const control = ControlStore.of(lua.store);
    // Three at a time: each call removes at most its limit.
    const steps: number[] = [];
    for (;;) {
      const removed = await control.drain(3);
      steps.push(removed);
      if (removed < 3) break;
    }
    expect(steps.reduce((a, b) => a + b, 0)).toBe(waiting + 2);
    expect(steps.slice(0, -1).every((n) => n === 3)).toBe(true);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, paused: 0, delayed: 0, active: 1 });
    expect(await lua.store.getJobs('waiting', 0, 100)).toEqual([]);
    expect((await lua.store.getJobs('active', 0, 100)).map((job) => job.id)).toEqual([kept.id]);
    // Nothing of the removed jobs is left: hashes, dedupe lock, label index, front and group counters.
    const left = (await lua.client.keys(`${lua.store.keys.base}*`)).filter((key) => /:(job:|label:|labels|dedupe|group:|front:)/.test(key));
    expect(left).toEqual(kept.hashed ? [lua.store.keys.job(kept.id)] : []);
    expect(await lua.client.hgetall(lua.store.keys.dedupe)).toEqual({});
    expect(await lua.client.hmget(lua.store.keys.meta, 'front', 'gwaiting', 'labeled')).toEqual(['0', '0', '0']);
    // The running job still settles.
    const done = await lua.store.complete([{ job: kept, result: Buffer.from([1]), keep: { count: -1, age: -1 } }]);
    expect(done.statuses).toEqual([Status.OK]);
  });
});

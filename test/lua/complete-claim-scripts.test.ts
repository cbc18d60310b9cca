import { describe, expect, it } from 'vitest';
import { Status } from '../../src/redis/status.js';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import type { ClaimResult, CompleteReply } from '../../src/redis/replies.js';
import { GROUP } from '../../src/redis/store.js';
import { KEEP_ALL } from '../../src/options.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';

// complete.lua with a claim (count > 0): the settle of a batch and the claim of the next jobs in one call,
// the claim exactly as claim.lua makes it (both run lua/includes/claim-jobs.lua).

const redis = useRedis();
const lua = useStore(redis);

async function claimed(consumer: string, count: number): Promise<ClaimedJob[]> {
  const reply = await lua.store.claim(consumer, count, 100);
  if (reply.kind !== 'jobs') throw new Error(`expected jobs, got ${reply.kind}`);
  return reply.jobs;
}

/** Completes `jobs` and claims up to `count` more for `consumer` in the same call. */
function completeAndClaim(jobs: ClaimedJob[], count: number, consumer = 'a'): Promise<CompleteReply> {
  return lua.store.complete(
    jobs.map((job) => ({ job, result: Buffer.from('r'), keep: KEEP_ALL })),
    { consumer, count, promoteLimit: 100 },
  );
}

function jobsOf(claim: ClaimResult | undefined): ClaimedJob[] {
  if (claim?.kind !== 'jobs') throw new Error(`expected jobs, got ${claim?.kind ?? 'no claim'}`);
  return claim.jobs;
}

async function pendingOf(consumer: string, level = 1): Promise<string[]> {
  const pending = (await lua.client.xpending(lua.store.keys.wait[level]!, GROUP, '-', '+', 100, consumer)) as [string, ...unknown[]][];
  return pending.map(([entry]) => entry);
}

describe('complete with a claim', () => {
  it('settles the batch, then hands out the next jobs as claim does, counts exact at every step', async () => {
    await lua.store.add(Array.from({ length: 5 }, () => input()));
    const [first] = await claimed('a', 1);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 4, active: 1, completed: 0 });

    const reply = await completeAndClaim([first!], 2);
    expect(reply.statuses).toEqual([Status.OK]);
    const next = jobsOf(reply.claimed);
    expect(next.map((j) => j.id)).toEqual(['2', '3']);
    // The jobs come as claim hands them: processedOn is the call's time, the delivery pending for 'a'.
    expect(next.every((j) => j.processedOn === reply.at && j.attemptsStarted === 1)).toBe(true);
    expect(await pendingOf('a')).toEqual(next.map((j) => j.entry));
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 2, active: 2, completed: 1 });
    expect((await lua.store.getJob('1'))?.state).toBe('completed');

    const last = jobsOf((await completeAndClaim(next, 5)).claimed);
    expect(last.map((j) => j.id)).toEqual(['4', '5']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 2, completed: 3 });
    const metrics = await lua.store.getMetrics();
    expect(metrics.completedTotal).toBe(3);
  });

  it('answers EMPTY with the ids to block on once nothing is left, and claims nothing without a count', async () => {
    await lua.store.add([input(), input({ delay: 60_000 })]);
    const [job] = await claimed('a', 1);
    const reply = await completeAndClaim([job!], 1);
    expect(reply.statuses).toEqual([Status.OK]);
    if (reply.claimed?.kind !== 'empty') throw new Error(`expected empty, got ${reply.claimed?.kind}`);
    // As claim says it: the next delayed job's time, the last ctl entry and each level's last entry.
    expect(reply.claimed.nextDueMs).toBeGreaterThan(59_000);
    expect(reply.claimed.waitIds).toEqual(['0-0', `${job!.id}-0`, '0-0']);
    expect(reply.claimed.ctlId).toBe((await lua.client.xrevrange(lua.store.keys.ctl, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0');
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 1, completed: 1 });

    // Without a claim the reply is the settle's alone.
    await lua.store.add([input()]);
    const [other] = await claimed('a', 1);
    const plain = await lua.store.complete([{ job: other!, result: Buffer.from('r'), keep: KEEP_ALL }]);
    expect(plain.claimed).toBeUndefined();
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 0, completed: 2 });
  });

  it('still claims when the settle is refused (lease lost), and keeps active exact', async () => {
    await lua.store.add([input(), input()]);
    const [job] = await claimed('a', 1);
    // The stalled sweep takes the delivery back: a's complete is refused, the job waits again.
    await sleep(30);
    await lua.store.recoverStalled('reaper', 20, 5, 100);
    const reply = await completeAndClaim([job!], 2);
    expect(reply.statuses).toEqual([Status.LEASE_LOST]);
    expect(jobsOf(reply.claimed).map((j) => j.id).sort()).toEqual(['1', '2']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 2, completed: 0 });
  });

  it('promotes due delayed jobs and hands them out in the same call', async () => {
    await lua.store.add([input(), input({ jobId: 'later', delay: 100 })]);
    const [job] = await claimed('a', 1);
    await sleep(150);
    const next = jobsOf((await completeAndClaim([job!], 1)).claimed);
    expect(next.map((j) => j.id)).toEqual(['later']);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 1, delayed: 0, completed: 1 });
  });

  it('claims nothing while the queue is paused: PAUSED, the settle done, the rest counted as paused', async () => {
    await lua.store.add([input(), input(), input()]);
    const [job] = await claimed('a', 1);
    await lua.store.setPaused(true);
    const reply = await completeAndClaim([job!], 2);
    expect(reply.statuses).toEqual([Status.OK]);
    expect(reply.claimed?.kind).toBe('paused');
    expect(await pendingOf('a')).toEqual([]);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, paused: 2, active: 0, completed: 1 });
    await lua.store.setPaused(false);
    expect(await claimed('a', 5)).toHaveLength(2);
  });

  it('respects the queue-wide rate limit: the settle frees no start, and the window says when to come back', async () => {
    await lua.store.setRateLimit({ max: 2, duration: 60_000 });
    await lua.store.add(Array.from({ length: 5 }, () => input()));
    const [job] = await claimed('a', 1);
    const second = jobsOf((await completeAndClaim([job!], 5)).claimed);
    expect(second).toHaveLength(1);
    const held = (await completeAndClaim(second, 5)).claimed;
    if (held?.kind !== 'empty') throw new Error(`expected empty, got ${held?.kind}`);
    expect(held.nextDueMs).toBeGreaterThan(59_000);
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 3, active: 0, completed: 2 });
  });

  it("gives a group's concurrency slot back before it claims: the group's next job comes in the same call", async () => {
    await lua.store.setGroupLimit('solo', { concurrency: 1 });
    await lua.store.add([input({ group: 'solo', jobId: 's-1' }), input({ group: 'solo', jobId: 's-2' })]);
    const [job] = await claimed('a', 5);
    expect((await lua.store.claim('a', 5, 100)).kind).toBe('empty');
    const next = jobsOf((await completeAndClaim([job!], 5)).claimed);
    expect(next.map((j) => j.id)).toEqual(['s-2']);
    expect(await lua.store.getGroup('solo')).toEqual({ waiting: 0, active: 1, state: 'idle' });
    expect(await lua.store.getCounts()).toMatchObject({ waiting: 0, active: 1, completed: 1 });
  });

  it('answers NEEDS_INIT for an obliterated queue and writes nothing', async () => {
    await lua.store.add([input()]);
    const [job] = await claimed('a', 1);
    while ((await lua.store.obliterate(true, 100)) > 0);
    const reply = await completeAndClaim([job!], 1);
    expect(reply.statuses).toEqual([Status.JOB_MISSING]);
    expect(reply.claimed?.kind).toBe('needs-init');
    expect(await lua.client.keys(`${lua.store.keys.base}*`)).toEqual([]);
  });

  it('writes one events entry for the call: the completions, then the starts', async () => {
    await lua.store.add([input(), input()]);
    const [job] = await claimed('a', 1);
    const before = await lua.client.xlen(lua.store.keys.events);
    await completeAndClaim([job!], 1);
    const entries = await lua.client.xrange(lua.store.keys.events, '-', '+');
    expect(entries).toHaveLength(before + 1);
    expect(entries[entries.length - 1]?.[1]).toEqual(['', 'completed', '1', 'r', '', 'active', '2', '1']);
  });
});

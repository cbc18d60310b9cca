import { describe, expect, it } from 'vitest';
import type { ClaimedJob } from '../../src/redis/job-fields.js';
import { HISTORY_MINUTES, readHistory } from '../../src/redis/history.js';
import { KEEP_ALL } from '../../src/options.js';
import type { MinuteCounts } from '../../src/states.js';
import { useRedis } from '../harness/redis.js';
import { sleep } from '../harness/wait.js';
import { input, useStore } from './store.js';

/**
 * The per-minute history (lua/includes/history.lua) as the settle scripts keep it and metrics-history.lua
 * reads it. Redis' clock cannot be set, so minutes gone by are written into the two hashes as a queue that
 * settled jobs in them would have left them, and the next settle call is the one that rolls the minute.
 */
const redis = useRedis();
const lua = useStore(redis);

/**
 * The current minute of Redis' clock, with at least 10 s of it left: a test's settle calls and reads then
 * land in one minute (a test takes well under a second of it).
 */
async function minuteWithRoom(): Promise<number> {
  let now = await lua.store.time();
  if (now % 60_000 > 50_000) {
    await sleep(60_000 - (now % 60_000) + 50);
    now = await lua.store.time();
  }
  return Math.floor(now / 60_000);
}

async function claim(count: number): Promise<ClaimedJob[]> {
  const claimed = await lua.store.claim('a', count, 100);
  if (claimed.kind !== 'jobs') throw new Error(`expected jobs, got ${claimed.kind}`);
  return claimed.jobs;
}

async function complete(jobs: ClaimedJob[]): Promise<void> {
  await lua.store.complete(jobs.map((job) => ({ job, result: Buffer.from('r'), keep: KEEP_ALL })));
}

async function fail(jobs: ClaimedJob[], retryDelay: number): Promise<void> {
  await lua.store.fail(jobs.map((job) => ({ job, retryDelay, reason: 'boom', stack: '', keep: KEEP_ALL })));
}

function history(minutes: number): Promise<MinuteCounts[]> {
  return readHistory(lua.client, lua.store.keys, minutes);
}

/** The counts of `minute` (minutes since the epoch) in a history read. */
function at(read: MinuteCounts[], minute: number): { completed: number; failed: number } | undefined {
  const found = read.find((m) => m.minute === minute * 60_000);
  return found === undefined ? undefined : { completed: found.completed, failed: found.failed };
}

describe('per-minute history', () => {
  it('counts every job completed or failed for good in its minute, exactly, over several settle calls', async () => {
    const minute = await minuteWithRoom();
    await lua.store.add(Array.from({ length: 13 }, () => input()));
    await complete(await claim(1));
    await complete(await claim(2));
    await complete(await claim(4));
    // A retry is not a failure for good: not counted.
    await fail(await claim(2), 0);
    await fail(await claim(3), -1);
    await fail(await claim(2), -1);
    // Stalled more often than maxStalled (0): failed for good by recover-stalled.
    await claim(1);
    expect(await lua.store.recoverStalled('reaper', 0, 0, 100)).toMatchObject({ requeued: 0, failed: 1 });

    const read = await history(5);
    expect(read).toHaveLength(5);
    expect(read.at(-1)).toEqual({ minute: minute * 60_000, completed: 7, failed: 6 });
    // The minutes before it had nothing: there, with 0s.
    expect(read.slice(0, 4)).toEqual([4, 3, 2, 1].map((back) => ({ minute: (minute - back) * 60_000, completed: 0, failed: 0 })));
    // The lifetime totals agree.
    expect(await lua.store.getMetrics()).toMatchObject({ completedTotal: 7, failedTotal: 6 });
    // One settle call costs one HINCRBY on a hash of three fields here: the minute's two and `at`.
    expect(await lua.client.hgetall(lua.store.keys.historyNow)).toEqual({ at: String(minute), [`c${minute}`]: '7', [`f${minute}`]: '6' });
    expect(await lua.client.exists(lua.store.keys.history)).toBe(0);
  });

  it('rolls the minute before into the history at the first settle of a new minute, and drops what left the window', async () => {
    const minute = await minuteWithRoom();
    const { history: pastKey, historyNow: nowKey } = lua.store.keys;
    // A queue busy every minute until the one before this: the minutes before that in `history`, the window
    // full (its oldest minute leaves with this roll), that minute in `history:now`.
    const previous = minute - 1;
    const past: string[] = [];
    for (let m = previous - HISTORY_MINUTES + 1; m < previous; m++) past.push(`c${m}`, String(m % 97), `f${m}`, String(m % 5));
    await lua.client.hset(pastKey, ...past);
    await lua.client.hset(nowKey, 'at', String(previous), `c${previous}`, '40', `f${previous}`, '3');
    expect(await lua.client.hlen(pastKey)).toBe(2 * (HISTORY_MINUTES - 1));

    await lua.store.add([input(), input()]);
    await complete(await claim(1));
    await fail(await claim(1), -1);

    // Bounded: the window's oldest minute left, the one before this came in.
    const oldest = previous - HISTORY_MINUTES + 1;
    expect(await lua.client.hexists(pastKey, `c${oldest}`)).toBe(0);
    expect(await lua.client.hlen(pastKey)).toBe(2 * (HISTORY_MINUTES - 1));
    expect(await lua.client.hgetall(nowKey)).toEqual({ at: String(minute), [`c${minute}`]: '1', [`f${minute}`]: '1' });

    const read = await history(HISTORY_MINUTES);
    expect(read).toHaveLength(HISTORY_MINUTES);
    expect(read[0]?.minute).toBe((minute - HISTORY_MINUTES + 1) * 60_000);
    expect(at(read, minute)).toEqual({ completed: 1, failed: 1 });
    expect(at(read, previous)).toEqual({ completed: 40, failed: 3 });
    for (let m = oldest + 1; m < previous; m++) expect(at(read, m)).toEqual({ completed: m % 97, failed: m % 5 });
  });

  it('after a quiet spell, keeps only the minutes still in the window and reads the gap as 0s', async () => {
    const minute = await minuteWithRoom();
    const { history: pastKey, historyNow: nowKey } = lua.store.keys;
    // Nothing settled for 100 minutes; before that, a few busy minutes, one of them already too old.
    const last = minute - 100;
    await lua.client.hset(pastKey, `c${last - 90}`, '5', `c${last - 79}`, '6', `f${last - 79}`, '1', `c${minute - HISTORY_MINUTES}`, '9');
    await lua.client.hset(nowKey, 'at', String(last), `c${last}`, '8');

    await lua.store.add([input()]);
    await complete(await claim(1));

    expect(await lua.client.hgetall(pastKey)).toEqual({ [`c${last - 79}`]: '6', [`f${last - 79}`]: '1', [`c${last}`]: '8' });
    const read = await history(HISTORY_MINUTES);
    expect(read.filter((m) => m.completed + m.failed > 0)).toEqual([
      { minute: (last - 79) * 60_000, completed: 6, failed: 1 },
      { minute: last * 60_000, completed: 8, failed: 0 },
      { minute: minute * 60_000, completed: 1, failed: 0 },
    ]);
  });

  it('after more than the whole window, starts over', async () => {
    const minute = await minuteWithRoom();
    const { history: pastKey, historyNow: nowKey } = lua.store.keys;
    const last = minute - HISTORY_MINUTES - 10;
    await lua.client.hset(pastKey, `c${last - 1}`, '5');
    await lua.client.hset(nowKey, 'at', String(last), `c${last}`, '8', `f${last}`, '2');

    await lua.store.add([input()]);
    await fail(await claim(1), -1);

    expect(await lua.client.exists(pastKey)).toBe(0);
    expect(await lua.client.hgetall(nowKey)).toEqual({ at: String(minute), [`f${minute}`]: '1' });
    expect((await history(HISTORY_MINUTES)).filter((m) => m.completed + m.failed > 0)).toEqual([{ minute: minute * 60_000, completed: 0, failed: 1 }]);
  });

  it('reads an unused queue as zeros, and obliterate deletes both hashes', async () => {
    const read = await history(3);
    expect(read.map((m) => [m.completed, m.failed])).toEqual([[0, 0], [0, 0], [0, 0]]);
    expect(read[2]!.minute - read[0]!.minute).toBe(120_000);
    await lua.store.add([input()]);
    await complete(await claim(1));
    expect(await lua.client.exists(lua.store.keys.historyNow)).toBe(1);
    await lua.client.hset(lua.store.keys.history, 'c1', '1');
    while ((await lua.store.obliterate(true, 100)) > 0);
    expect(await lua.client.exists(lua.store.keys.history, lua.store.keys.historyNow)).toBe(0);
  });
});

import type { GroupLimit, GroupStatus, LimitedGroups, RateLimit, RateWindow } from './queue-settings.js';
import type { QueueAccess } from './queue-access.js';

/**
 * The limits of one unpartitioned queue, kept in Redis and enforced in the claim script: the queue-wide rate
 * limit and concurrency, the group limits, and the operators' reads of what they hold back. Queue validates
 * the arguments and hands a partitioned queue's calls to its partitions before it calls these.
 */

/** Sets (or, with null, removes) the queue-wide rate limit. */
export async function setRateLimit(q: QueueAccess, limit: RateLimit | null): Promise<void> {
  await q.init();
  await q.store.setRateLimit(limit);
}

export async function getRateLimit(q: QueueAccess): Promise<RateLimit | null> {
  await q.inspect();
  return q.store.getRateLimit();
}

/** Sets (or, with null, removes) the queue-wide concurrency. */
export async function setConcurrency(q: QueueAccess, concurrency: number | null): Promise<void> {
  await q.init();
  await q.store.setConcurrency(concurrency);
}

export async function getConcurrency(q: QueueAccess): Promise<number | null> {
  if (!(await q.inspect())) return null;
  return (await q.store.queueLimits()).concurrency;
}

/** Sets (or, with null, removes) group `name`'s own rule, or with name '' the default rule. */
export async function setGroupLimit(q: QueueAccess, name: string, limit: GroupLimit | null): Promise<void> {
  await q.init();
  await q.store.setGroupLimit(name, limit);
}

export async function getGroupLimits(q: QueueAccess): Promise<Map<string, GroupLimit>> {
  await q.inspect();
  return q.store.getGroupLimits();
}

export async function getGroup(q: QueueAccess, name: string): Promise<GroupStatus> {
  await q.inspect();
  return q.store.getGroup(name);
}

/** The groups limits hold back now, `limit` of each kind, each with its waiting and running jobs. */
export async function getLimitedGroups(q: QueueAccess, limit: number): Promise<LimitedGroups> {
  if (!(await q.inspect())) return { throttled: [], full: [], throttledTotal: 0, fullTotal: 0, withWork: 0 };
  const held = await q.store.heldGroups(limit);
  const status = async (group: string): Promise<{ group: string; waiting: number; active: number }> => {
    const { waiting, active } = await q.store.getGroup(group);
    return { group, waiting, active };
  };
  const [throttled, full] = await Promise.all([
    Promise.all(held.throttled.map(async ({ group, until }) => ({ ...(await status(group)), until: new Date(until) }))),
    Promise.all(held.full.map(status)),
  ]);
  return { throttled, full, throttledTotal: held.throttledTotal, fullTotal: held.fullTotal, withWork: held.withWork };
}

/** The queue-wide limit, the jobs started in its current window, and a RateLimitError's hold on the queue. */
export async function getRateWindow(q: QueueAccess): Promise<RateWindow> {
  if (!(await q.inspect())) return { limit: null, started: 0, heldUntil: null };
  const [limit, now, hold] = await Promise.all([q.store.getRateLimit(), q.store.time(), q.store.queueHold()]);
  const started = limit === null ? 0 : await q.store.startedSince(now - limit.duration);
  return { limit, started, heldUntil: hold === null || hold <= now ? null : new Date(hold) };
}

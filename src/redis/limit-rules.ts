import type { GroupLimit, RateLimit } from '../queue-settings.js';

/**
 * Limits as Redis stores them, both ways: the queue's rule in meta `rlmax` and `rldur`
 * (lua/includes/queue-limits.lua) and a group's rule in the groups' limits hash (lua/includes/groups.lua).
 * -1 stands for none throughout; a burst of -1 is the sliding window.
 */

/** set-rate-limit's `burst` argument: -1 for the sliding window. */
export function burstArg(limit: RateLimit | null): number {
  return limit?.smooth === true ? (limit.burst ?? 1) : -1;
}

/**
 * The queue's limits from meta `rlmax` and `rldur`: a plain number in `rlmax` is a sliding window alone; with
 * a concurrency or a smooth limit it is the rule "<max> <burst> <concurrency>".
 */
export function queueLimitsOf(rlmax: string | null, rldur: string | null): { rate: RateLimit | null; concurrency: number | null } {
  if (rlmax === null) return { rate: null, concurrency: null };
  const [max = 0, burst = -1, concurrency = -1] = rlmax.split(' ').map(Number);
  const duration = Number(rldur ?? 0);
  const rate = max > 0 && duration > 0 ? { max, duration, ...(burst > 0 ? { smooth: true, burst } : {}) } : null;
  return { rate, concurrency: concurrency > 0 ? concurrency : null };
}

/** A group's rule: "max duration concurrency", and the burst fourth when the rate is smooth. */
export function groupRuleText(limit: GroupLimit): string {
  const rule = `${limit.max ?? -1} ${limit.duration ?? -1} ${limit.concurrency ?? -1}`;
  return limit.smooth === true ? `${rule} ${limit.burst ?? 1}` : rule;
}

export function groupLimitOf(rule: string): GroupLimit {
  const [max = -1, duration = -1, concurrency = -1, burst = -1] = rule.split(' ').map(Number);
  return {
    ...(max > 0 ? { max, duration } : {}),
    ...(concurrency > 0 ? { concurrency } : {}),
    ...(max > 0 && burst > 0 ? { smooth: true, burst } : {}),
  };
}

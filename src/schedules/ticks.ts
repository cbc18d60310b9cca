import { CronExpressionParser, type CronExpression } from 'cron-parser';
import type { Timing } from './definition.js';

/**
 * When a schedule's ticks fall: pure functions of a schedule's timing and an instant (ms), no clock of
 * their own, so every process computes the same ticks and tests need no waiting.
 *
 * Cron ticks come from cron-parser in the schedule's time zone, which handles daylight saving the way cron
 * users expect: a wall-clock time skipped by spring-forward runs once, at the same wall-clock offset after
 * the jump (02:30 on 2026-03-29 in Europe/Berlin runs at 03:30 CEST); a wall-clock time repeated by
 * fall-back runs once (the first 02:30 on 2026-10-25); hourly and finer expressions keep firing every real
 * hour through both. `every` ticks are plain arithmetic on absolute ms: startAt + k × every, or whole
 * multiples of `every` since the epoch, so all processes agree without storing an anchor.
 */

/**
 * A tick fired at most this late is late, not missed: it runs, and so does every tick after it, one by
 * one. 10 s is twice the runners' longest sleep (5 s, see runner.ts), so a schedule upserted elsewhere and
 * first noticed at a runner's next read never counts its first tick as missed; anything later means no
 * runner was alive, and the schedule's missed-tick policy decides.
 */
export const LATE_NOT_MISSED_MS = 10_000;

/**
 * The last instant a Date holds (ECMAScript: 10^8 days after the epoch, in the year 275760). A tick past it
 * never comes, and `new Date()` of it is an Invalid Date: such a tick is no tick, and the schedule ends.
 */
const MAX_DATE_MS = 8.64e15;

function anchor(t: Timing): number {
  return t.startAt ?? 0;
}

function withinEnd(t: Timing, tick: number | null): number | null {
  return tick === null || tick > MAX_DATE_MS || (t.endAt !== null && tick > t.endAt) ? null : tick;
}

/**
 * The expression in the schedule's time zone, its H fields seeded by the schedule id: without a seed,
 * cron-parser draws a random one on every parse, and each parse would pick other ticks.
 */
function parse(t: Timing, currentDate: number): CronExpression {
  return CronExpressionParser.parse(t.cron, { tz: t.tz, currentDate, hashSeed: t.hashSeed });
}

/** The first tick strictly after `ms` (and not before startAt, not after endAt), or null. */
export function tickAfter(t: Timing, ms: number): number | null {
  const from = t.startAt !== null && ms < t.startAt ? t.startAt - 1 : ms;
  if (t.cron === '') {
    const a = anchor(t);
    // From startAt - 1 this is startAt. Past 2^53 the sum rounds, but it is then past MAX_DATE_MS too.
    return withinEnd(t, a + (Math.floor((from - a) / t.every) + 1) * t.every);
  }
  try {
    return withinEnd(t, parse(t, from).next().getTime());
  } catch {
    // cron-parser gives up after a bounded search (an expression with no further date): the schedule ends.
    return null;
  }
}

/** The first tick at or after `ms`: a schedule's first run when it is created or changed at `ms`. */
export function firstTick(t: Timing, ms: number): number | null {
  return tickAfter(t, ms - 1);
}

/** The latest tick at or before `ms` (and not before startAt, not after endAt), or null. */
export function tickAtOrBefore(t: Timing, ms: number): number | null {
  const bound = t.endAt !== null ? Math.min(ms, t.endAt) : ms;
  if (t.startAt !== null && bound < t.startAt) return null;
  if (t.cron === '') {
    const a = anchor(t);
    return a + Math.floor((bound - a) / t.every) * t.every;
  }
  let tick: number;
  try {
    tick = parse(t, bound + 1).prev().getTime();
  } catch {
    return null;
  }
  // cron-parser's prev() can land one tick early across a DST change (from 12:00 on 2026-03-29 in Berlin,
  // a daily 02:30 gives the 28th, though next() gives 03:30 CEST on the 29th); walk forward with next(),
  // which is right, to the last tick at or before the bound. A few steps at most; bounded all the same.
  for (let step = 0; step < MAX_FORWARD_STEPS; step++) {
    const later = tickAfter(t, tick);
    if (later === null || later > bound) break;
    tick = later;
  }
  return t.startAt !== null && tick < t.startAt ? null : tick;
}

/** Steps tickAtOrBefore walks forward from prev() at most (it needs one, rarely two). */
const MAX_FORWARD_STEPS = 100;

export interface FirePlan {
  /** The tick to enqueue a job for, or null: move on without a job (a missed tick under 'skip'). */
  fire: number | null;
  /** The schedule's next run after this one, or null: it ends. */
  next: number | null;
}

/**
 * What to do with a due tick `tick` (the schedule's stored next run) at `now` (Redis' clock).
 * - On time or late by at most LATE_NOT_MISSED_MS: run it; the next run is the tick right after it, so a
 *   runner that fell a few seconds behind catches up tick by tick and none is lost.
 * - Older: ticks were missed (nothing was running). 'once' runs one job now, for the latest tick at or
 *   before now; 'skip' runs none, unless that latest tick is itself recent enough to count as on time.
 *   Either way the next run is the first tick after now.
 */
export function planFire(t: Timing, tick: number, now: number): FirePlan {
  if (now - tick <= LATE_NOT_MISSED_MS) return { fire: tick, next: tickAfter(t, tick) };
  const latest = Math.max(tick, tickAtOrBefore(t, now) ?? tick);
  const next = tickAfter(t, now);
  if (t.missed === 'once' || now - latest <= LATE_NOT_MISSED_MS) return { fire: latest, next };
  return { fire: null, next };
}

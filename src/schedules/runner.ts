import type { ScheduleStore, SoonSchedule } from '../redis/schedule-store.js';
import { Status } from '../redis/status.js';
import { decodeDefinition } from './definition.js';
import { PacedLoop } from './paced-loop.js';
import { planFire } from './ticks.js';

/**
 * Longest sleep between two reads of the schedules. A runner sleeps until the soonest next run it read,
 * but a schedule created or changed by another process after that read is only seen at the next read, so
 * this bounds how late such a schedule's first tick can be: 5 s, the same bound as a Worker's blockTimeout
 * for a missed wake-up. With no schedules, a runner costs one small script call (a ZRANGE on an empty key)
 * per 5 s.
 */
export const SCHEDULE_POLL_MS = 5000;
/** Schedules read per pass; when all of them are due the next pass follows at once. */
const BATCH = 100;

/** A schedule's tick that this process fired: the Worker's `scheduleFired` and the Scheduler's `fired` event. */
export interface FiredTick {
  /** The schedule's id. */
  scheduleId: string;
  /** The id of the job the tick enqueued: `<scheduleId>:<tick ms>`, the same in every process. */
  jobId: string;
  /** The instant the tick stands for (not when it was fired, which may be later after an outage). */
  tick: Date;
}

/**
 * Keeps a queue's recurring schedules firing. Every Worker runs one (unless `schedules: false`), and so
 * does a Scheduler; there is no leader. Each pass reads the soonest schedules and Redis' clock in one
 * script call, plans each due tick (ticks.ts), and fires it with fire-schedule, a compare-and-set on the
 * schedule's next run: of all runners that try the same tick, exactly one enqueues its job, the others get
 * STALE and change nothing. A runner that dies mid-pass leaves the next run in place for the others.
 *
 * No jitter: the compare-and-set makes the race harmless, and spreading it would not make it cheaper.
 * Each losing runner costs one O(1) script call per tick; fleets of hundreds of workers can turn the
 * runner off on most of them (`schedules: false`) and keep a few, or run Schedulers.
 *
 * States: created -> running (read, fire what is due, sleep until the soonest next run or at most
 * SCHEDULE_POLL_MS) -> stopped.
 */
export class ScheduleRunner extends PacedLoop {
  constructor(
    private readonly store: ScheduleStore,
    private readonly onFired: (fired: FiredTick) => void,
    private readonly onError: (error: Error) => void,
  ) {
    super();
  }

  protected async step(): Promise<number> {
    try {
      return await this.#pass();
    } catch (error) {
      this.onError(error as Error);
      return SCHEDULE_POLL_MS;
    }
  }

  /** One pass; returns how long to sleep before the next (0: go again at once). */
  async #pass(): Promise<number> {
    const { now, schedules } = await this.store.soonest(BATCH);
    const due = schedules.filter((s) => s.definition !== null);
    if (due.length === 0) {
      const soonest = schedules[0];
      // At least 1 ms: a timer may fire a hair before the Redis clock reaches the tick.
      return soonest === undefined ? SCHEDULE_POLL_MS : Math.max(1, Math.min(SCHEDULE_POLL_MS, soonest.next - now));
    }
    const moved = await Promise.all(due.map((schedule) => this.#fire(schedule, now)));
    // Go again at once while ticks move: the next tick may be due too (catching up), or more schedules
    // than one batch are due. When none moved (all failed), wait instead of spinning on the same error.
    return moved.some(Boolean) ? 0 : SCHEDULE_POLL_MS;
  }

  /** Fires one due schedule; true when its next run moved on (whoever moved it). */
  async #fire(schedule: SoonSchedule, now: number): Promise<boolean> {
    try {
      const definition = decodeDefinition(schedule.definition as Buffer, schedule.id);
      const plan = planFire(definition.timing, schedule.next, now);
      const jobId = plan.fire === null ? '' : `${schedule.id}:${plan.fire}`;
      const { status } = await this.store.fire({
        scheduleId: schedule.id,
        definition: schedule.definition as Buffer,
        expected: schedule.next,
        next: plan.next ?? -1,
        limit: definition.timing.limit,
        jobId,
        name: definition.name,
        data: definition.data,
        opts: definition.opts,
        prio: definition.prio,
        group: definition.group,
      });
      if (status === Status.OK && plan.fire !== null) this.onFired({ scheduleId: schedule.id, jobId, tick: new Date(plan.fire) });
      return status !== Status.NOT_DUE;
    } catch (error) {
      this.onError(error as Error);
      return false;
    }
  }
}

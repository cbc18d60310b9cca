import type { ScheduleStore } from '../redis/schedule-store.js';
import { PacedLoop } from './paced-loop.js';
import { SCHEDULE_POLL_MS } from './runner.js';

/** Delayed jobs moved per call: the claim script's bound too, about a millisecond of Redis time. */
const PROMOTE_LIMIT = 1000;

/**
 * Moves due delayed jobs to waiting for a Scheduler, so a queue with no worker running still turns its
 * delayed jobs into waiting ones (what a scale-from-zero autoscaler watches). Workers promote inside claim;
 * this is the same work for when there are none, and harmless beside them (each call is atomic).
 *
 * Sleeps until the next delayed job is due, at most SCHEDULE_POLL_MS: a delayed job added after the last
 * call with an earlier due time is seen within that bound (workers, which block on the ctl stream, see it
 * at once).
 */
export class DelayedPromoter extends PacedLoop {
  constructor(
    private readonly store: ScheduleStore,
    /** Runs init again after an obliterate (promote answered NEEDS_INIT). */
    private readonly init: () => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {
    super();
  }

  /** One promote call; returns how long to sleep before the next. */
  protected async step(): Promise<number> {
    try {
      const result = await this.store.promote(PROMOTE_LIMIT);
      if (result === 'needs-init') await this.init();
      else if (result.promoted >= PROMOTE_LIMIT) return 0;
      else if (result.nextDueMs >= 0) return Math.max(1, Math.min(SCHEDULE_POLL_MS, result.nextDueMs));
    } catch (error) {
      this.onError(error as Error);
    }
    return SCHEDULE_POLL_MS;
  }
}

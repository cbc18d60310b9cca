import type { ScheduleStore } from '../redis/schedule-store.js';
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
export class DelayedPromoter {
  #loop: Promise<void> | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly store: ScheduleStore,
    /** Runs init again after an obliterate (promote answered NEEDS_INIT). */
    private readonly init: () => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let sleep = SCHEDULE_POLL_MS;
      try {
        const result = await this.store.promote(PROMOTE_LIMIT);
        if (result === 'needs-init') await this.init();
        else if (result.promoted >= PROMOTE_LIMIT) sleep = 0;
        else if (result.nextDueMs >= 0) sleep = Math.max(1, Math.min(SCHEDULE_POLL_MS, result.nextDueMs));
      } catch (error) {
        this.onError(error as Error);
      }
      if (sleep > 0 && !this.#stopped) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, sleep);
        });
        this.#wake = undefined;
      }
    }
  }
}

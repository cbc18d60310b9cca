/**
 * When the claim loop may claim: not while this worker is paused (worker.pause(), its own, not the queue's)
 * and not while every slot is taken. The loop asks `closed()` before each claim and, when it is, parks
 * until something may have changed: a slot freed, a resume, the concurrency raised, close. A claim in
 * flight is tracked so that pause() resolves only once none is out: from then on no job is claimed.
 *
 * States: open -> paused (pause: no new claim; one in flight finishes and its jobs run) -> open (resume).
 */
export class ClaimGate {
  #paused = false;
  #wake: (() => void) | undefined;
  #claiming: Promise<unknown> | undefined;

  get paused(): boolean {
    return this.#paused;
  }

  /** Whether the loop must park rather than claim, given its free slots. */
  closed(free: number): boolean {
    return this.#paused || free <= 0;
  }

  /** Parks the claim loop until wake(). */
  park(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  /** Ends a park: the loop looks again at what it may do. */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** `claim` is out: pause() waits for it. */
  track<T>(claim: Promise<T>): Promise<T> {
    const tracked = claim.finally(() => {
      if (this.#claiming === tracked) this.#claiming = undefined;
    });
    this.#claiming = tracked;
    return tracked;
  }

  /** Stops claiming; resolves once no claim is out (its jobs, if any, have been handed to the worker). */
  async pause(): Promise<void> {
    this.#paused = true;
    // A claim that failed is the loop's to report; here it only means nothing more is claimed.
    while (this.#claiming !== undefined) await this.#claiming.catch(() => undefined);
  }

  resume(): void {
    this.#paused = false;
    this.wake();
  }
}

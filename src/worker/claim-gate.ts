import { Slots } from './slots.js';
import { assertConcurrency, defaultPrefetch } from './settings.js';

/**
 * When and how much a Worker's claim loops may claim: not while the worker is paused (worker.pause(), its
 * own, not the queue's), and no more than its free concurrency slots (slots.ts), at most `prefetch` per
 * claim. One gate serves every loop of a Worker: the one loop of an unpartitioned Worker, or the loop of
 * each partition a partitioned Worker consumes, so that pause, resume and the concurrency setter act on the
 * Worker as a whole and its loops share one pool of slots.
 *
 * A loop asks `closed()` before each claim and, when it is, parks until something may have changed: a
 * slot given back, a resume, the concurrency raised, close. A claim takes its slots as it leaves (`take`,
 * asked as the call leaves, so slots freed meanwhile count) and gives back those it did not fill. Claims
 * in flight are tracked so that pause() resolves only once none is out: from then on no job is claimed.
 *
 * States: open -> paused (pause: no new claim; those in flight finish and their jobs run) -> open (resume).
 */
export class ClaimGate {
  readonly #slots: Slots;
  #prefetch: number;
  readonly #prefetchGiven: boolean;
  #paused = false;
  readonly #claiming = new Set<Promise<unknown>>();

  constructor(concurrency: number, prefetch: number, prefetchGiven: boolean) {
    this.#slots = new Slots(concurrency);
    this.#prefetch = prefetch;
    this.#prefetchGiven = prefetchGiven;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get concurrency(): number {
    return this.#slots.size;
  }

  /**
   * Raised, a parked loop wakes and claims for the new slots; lowered, running jobs go on and no claim
   * leaves until fewer than the new number run. A prefetch left to its default follows it.
   */
  set concurrency(value: number) {
    const size = assertConcurrency('worker.concurrency', value);
    if (!this.#prefetchGiven) this.#prefetch = defaultPrefetch(size);
    this.#slots.resize(size);
  }

  /** Whether a loop must park rather than claim. */
  closed(): boolean {
    return this.#paused || this.#slots.free <= 0;
  }

  /** Parks `loop` until a slot may be free, a resume, or unpark(loop). */
  park(loop: object): Promise<void> {
    return this.#slots.wait(loop);
  }

  /** Ends `loop`'s park at once: it is closing. */
  unpark(loop: object): void {
    this.#slots.cancel(loop);
  }

  /** The slots a claim leaving now takes (it gives back those it does not fill): none while paused. */
  take(): number {
    return this.#paused ? 0 : this.#slots.take(this.#prefetch);
  }

  /** Gives back slots: a job that ended, or a claim's slots it did not fill. */
  give(count: number): void {
    this.#slots.give(count);
  }

  /** `claim` is out: pause() waits for it. */
  track<T>(claim: Promise<T>): Promise<T> {
    const tracked = claim.finally(() => this.#claiming.delete(tracked));
    this.#claiming.add(tracked);
    return tracked;
  }

  /** Stops claiming; resolves once no claim is out (their jobs, if any, have been handed to the worker). */
  async pause(): Promise<void> {
    this.#paused = true;
    // A claim that failed is its loop's to report; here it only means nothing more is claimed.
    while (this.#claiming.size > 0) await Promise.allSettled([...this.#claiming]);
  }

  resume(): void {
    this.#paused = false;
    this.#slots.wakeNext();
  }
}

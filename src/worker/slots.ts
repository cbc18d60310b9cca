/**
 * A Worker's concurrency slots, shared by the claim loops of a partitioned Worker (one loop per partition,
 * src/partitions/): a claim takes slots before it leaves and gives back those it did not fill, a job gives
 * its slot back when its handler ends. With one loop (an unpartitioned Worker) it is a counter.
 *
 * Loops waiting for a slot queue in order: a slot given back wakes the first, and a loop that took slots
 * while some stay free wakes the next, so free slots pass from loop to loop until they are taken or every
 * waiting loop has looked (a loop whose partition has nothing gives its slots back and blocks on Redis).
 * The size may change while jobs run (worker.concurrency): raised, the first waiter wakes for the new
 * slots; lowered below the slots in use, `free` goes negative and nothing is taken until enough jobs end.
 */
export class Slots {
  #size: number;
  #used = 0;
  readonly #waiters: { owner: object; wake: () => void }[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  /** Slots not taken: negative after a resize below the slots in use. */
  get free(): number {
    return this.#size - this.#used;
  }

  /** Changes the number of slots; a slot that becomes free wakes the first waiter. */
  resize(size: number): void {
    this.#size = size;
    this.wakeNext();
  }

  /** Takes up to `max` free slots; returns how many it took. */
  take(max: number): number {
    const taken = Math.max(0, Math.min(max, this.free));
    this.#used += taken;
    if (taken > 0) this.wakeNext();
    return taken;
  }

  /** Gives back `count` slots: a job that ended, or a claim that started fewer jobs than it took. */
  give(count: number): void {
    if (count <= 0) return;
    this.#used -= count;
    this.wakeNext();
  }

  /** Resolves when a slot may be free (the caller looks again), or when cancel(owner) is called. */
  wait(owner: object): Promise<void> {
    return new Promise((wake) => this.#waiters.push({ owner, wake }));
  }

  /** Ends `owner`'s wait at once: it is closing. */
  cancel(owner: object): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter?.owner !== owner) continue;
      this.#waiters.splice(i, 1);
      waiter.wake();
    }
  }

  /** Wakes the first waiter while a slot is free: it looks again (and passes on what it leaves). */
  wakeNext(): void {
    if (this.free > 0) this.#waiters.shift()?.wake();
  }
}

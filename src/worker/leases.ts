import type { QueueStore } from '../redis/store.js';
import { WATCH_MS } from './cancel-watch.js';

/** Something that may have cost this worker deliveries since it was last asked (cancel-watch.ts). */
export interface LeaseWatch {
  moved(): Promise<boolean>;
}

/**
 * Keeps this worker's deliveries alive: every `intervalMs` one extend-leases call resets the idle time of
 * every entry it runs (one XCLAIM per stream, not per job), so recover-stalled only takes the jobs of workers
 * that stopped. Entries the call reports as no longer held were reclaimed while this worker was frozen or
 * cut off, or cancelled by a person: `onLost` lets the worker abort them. With a `watch`, the timer ticks
 * every WATCH_MS while jobs run and extends early when the watch says something moved (cancel-watch.ts).
 */
export class Leases {
  /** entry -> its stream, for every delivery this worker runs. */
  readonly #held = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  /** performance.now() of the last extension (or of start). */
  #extended = 0;

  constructor(
    private readonly store: QueueStore,
    private readonly consumer: string,
    private readonly intervalMs: number,
    private readonly onLost: (entries: string[]) => void,
    private readonly onError: (error: Error) => void,
    private readonly watch?: LeaseWatch,
  ) {}

  hold(stream: number, entry: string): void {
    this.#held.set(entry, stream);
  }

  release(entry: string): void {
    this.#held.delete(entry);
  }

  start(): void {
    const tick = this.watch === undefined ? this.intervalMs : Math.min(this.intervalMs, WATCH_MS);
    this.#extended = performance.now();
    this.#timer = setInterval(() => {
      if (this.#beating === undefined) this.#beating = this.#tick(tick).finally(() => (this.#beating = undefined));
    }, tick);
    this.#timer.unref();
  }

  /** An extension when one is due (within half a tick), or earlier when the watch says something moved. */
  async #tick(tick: number): Promise<void> {
    if (this.#held.size === 0) return;
    if (this.watch !== undefined && performance.now() - this.#extended < this.intervalMs - tick / 2) {
      try {
        if (!(await this.watch.moved())) return;
      } catch {
        // Not reported: Redis being unreachable is reported by the extension, at its own period, not twice a second.
        return;
      }
    }
    await this.#beat();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
  }

  async #beat(): Promise<void> {
    if (this.#held.size === 0) return;
    this.#extended = performance.now();
    try {
      const held = [...this.#held].map(([entry, stream]) => ({ stream, entry }));
      const lost = await this.store.extendLeases(this.consumer, held);
      // An entry settled while the call was in flight also comes back as "not held": only report live ones.
      const live = lost.filter((entry) => this.#held.has(entry));
      if (live.length > 0) this.onLost(live);
    } catch (error) {
      this.onError(error as Error);
    }
  }
}

import type { QueueStore } from '../redis/store.js';

/**
 * Keeps this worker's deliveries alive: every `intervalMs` one extend-leases call resets the idle time of
 * every entry it runs (one XCLAIM per stream, not per job), so recover-stalled only takes the jobs of workers
 * that stopped. Entries the call reports as no longer held were reclaimed while this worker was frozen or
 * cut off: `onLost` lets the worker abort them.
 */
export class Leases {
  /** entry -> its stream, for every delivery this worker runs. */
  readonly #held = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(
    private readonly store: QueueStore,
    private readonly consumer: string,
    private readonly intervalMs: number,
    private readonly onLost: (entries: string[]) => void,
    private readonly onError: (error: Error) => void,
  ) {}

  hold(stream: number, entry: string): void {
    this.#held.set(entry, stream);
  }

  release(entry: string): void {
    this.#held.delete(entry);
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#beating === undefined) this.#beating = this.#beat().finally(() => (this.#beating = undefined));
    }, this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
  }

  async #beat(): Promise<void> {
    if (this.#held.size === 0) return;
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

import type { QueueStore } from '../redis/store.js';
import type { Heartbeat, Presence } from './heartbeat.js';

/**
 * Keeps this worker's deliveries alive and the worker listed: every `heartbeat.intervalMs` one extend-leases
 * call resets the idle time of every entry it runs (one XCLAIM per stream, not per job), so recover-stalled
 * only takes the jobs of workers that stopped, and records the worker's heartbeat (queue.getWorkers). Entries
 * the call reports as no longer held were reclaimed while this worker was frozen or cut off: `onLost` lets
 * the worker abort them. The first beat goes at start, so a worker is listed before its first interval.
 */
export class Leases {
  /** entry -> its stream, for every delivery this worker runs. */
  readonly #held = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #started = false;

  constructor(
    private readonly store: QueueStore,
    private readonly consumer: string,
    private readonly heartbeat: Heartbeat,
    private readonly presence: () => Presence,
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
    this.#started = true;
    this.#timer = setInterval(() => this.#tick(), this.heartbeat.intervalMs);
    this.#timer.unref();
    this.#tick();
  }

  /** Stops beating; a worker that started leaves the registry (one call). */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    if (!this.#started) return;
    this.#started = false;
    try {
      await this.store.extendLeases(this.consumer, []);
    } catch (error) {
      this.onError(error as Error);
    }
  }

  #tick(): void {
    if (this.#beating === undefined) this.#beating = this.#beat().finally(() => (this.#beating = undefined));
  }

  async #beat(): Promise<void> {
    try {
      const held = [...this.#held].map(([entry, stream]) => ({ stream, entry }));
      const beat = { ttl: this.heartbeat.ttlMs, info: this.heartbeat.describe(this.presence()) };
      const lost = await this.store.extendLeases(this.consumer, held, beat);
      // An entry settled while the call was in flight also comes back as "not held": only report live ones.
      const live = lost.filter((entry) => this.#held.has(entry));
      if (live.length > 0) this.onLost(live);
    } catch (error) {
      this.onError(error as Error);
    }
  }
}

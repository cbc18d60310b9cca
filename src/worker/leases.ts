import type { QueueStore } from '../redis/store.js';
import { WATCH_MS } from './cancel-watch.js';
import type { Heartbeat, Presence } from './heartbeat.js';

/** Something that may have cost this worker deliveries since it was last asked (cancel-watch.ts). */
export interface LeaseWatch {
  moved(): Promise<boolean>;
}

/**
 * Keeps this worker's deliveries alive and the worker listed: every `heartbeat.intervalMs` one
 * extend-leases call resets the idle time of every entry it runs (one XCLAIM per stream, not per job), so
 * recover-stalled only takes the jobs of workers that stopped, and records the worker's heartbeat
 * (queue.getWorkers; an idle worker beats too, so it stays listed). Entries the call reports as no longer
 * held were reclaimed while this worker was frozen or cut off, or cancelled by a person: `onLost` lets the
 * worker abort them. With a `watch`, the timer ticks every WATCH_MS while jobs run and extends early when
 * the watch says something moved (cancel-watch.ts). The first beat goes at start, so a worker is listed
 * before its first interval.
 */
export class Leases {
  /** entry -> its stream, for every delivery this worker runs. */
  readonly #held = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  /** performance.now() of the last extension (or of start). */
  #extended = 0;
  #started = false;

  constructor(
    private readonly store: QueueStore,
    private readonly consumer: string,
    private readonly heartbeat: Heartbeat,
    private readonly presence: () => Presence,
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
    this.#started = true;
    const interval = this.heartbeat.intervalMs;
    const tick = this.watch === undefined ? interval : Math.min(interval, WATCH_MS);
    this.#timer = setInterval(() => this.#run(() => this.#tick(tick)), tick);
    this.#timer.unref();
    this.#run(() => this.#beat());
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

  #run(step: () => Promise<void>): void {
    if (this.#beating === undefined) this.#beating = step().finally(() => (this.#beating = undefined));
  }

  /**
   * A beat when one is due (within half a tick), or, while jobs run, earlier when the watch says something
   * moved. An idle worker's ticks only beat when due: the heartbeat, nothing watched.
   */
  async #tick(tick: number): Promise<void> {
    if (performance.now() - this.#extended >= this.heartbeat.intervalMs - tick / 2) return this.#beat();
    if (this.#held.size === 0 || this.watch === undefined) return;
    try {
      if (!(await this.watch.moved())) return;
    } catch {
      // Not reported: Redis being unreachable is reported by the extension, at its own period, not twice a second.
      return;
    }
    await this.#beat();
  }

  async #beat(): Promise<void> {
    this.#extended = performance.now();
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

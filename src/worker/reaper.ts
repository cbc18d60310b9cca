import { DecodeError } from '../errors.js';
import type { QueueStore } from '../redis/store.js';

/** Entries taken back per level per call: bounds one call's Redis time. */
const LIMIT = 100;
/** Calls per sweep at most: 10 x 100 per level is plenty after a crash; the rest waits for the next sweep. */
const MAX_CALLS = 10;

/**
 * Every worker sweeps for stalled jobs, once at start (so the jobs of a crashed pod come back as soon as
 * its replacement starts) and then every `intervalMs`. Sweeps by many workers are safe: each call is atomic
 * and an entry is taken back once.
 */
export class Reaper {
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(
    private readonly store: QueueStore,
    private readonly reaper: string,
    private readonly stalledTimeoutMs: number,
    private readonly maxStalled: number,
    private readonly intervalMs: number,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    this.#sweep();
    this.#timer = setInterval(() => this.#sweep(), this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  #sweep(): void {
    if (this.#sweeping !== undefined) return;
    this.#sweeping = this.#run().finally(() => (this.#sweeping = undefined));
  }

  async #run(): Promise<void> {
    try {
      for (let call = 0; call < MAX_CALLS; call++) {
        const { requeued, failed, strays } = await this.store.recoverStalled(this.reaper, this.stalledTimeoutMs, this.maxStalled, LIMIT);
        if (strays.length > 0) {
          this.onError(new DecodeError(`stream entries ${strays.join(', ')} held no job; they were acknowledged and dropped`));
        }
        if (requeued + failed + strays.length < LIMIT) return;
      }
    } catch (error) {
      this.onError(error as Error);
    }
  }
}

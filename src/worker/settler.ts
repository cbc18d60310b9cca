import type { SettleReply } from '../redis/replies.js';
import type { StatusCode } from '../redis/status.js';
import type { CompleteInput, FailInput, QueueStore, ReleaseInput } from '../redis/store.js';

/** Most settles per script call: bounds one call's Redis time (~1 ms per 1,000) and its ARGV size. */
const MAX_BATCH = 1000;

/** How one settle went: its status, and Redis' time of the call that made it. */
export interface Settled {
  status: StatusCode;
  at: number;
}

interface Pending<T> {
  input: T;
  resolve: (settled: Settled) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches settles. Every completion, failure or release of one event-loop turn goes to Redis in one script
 * call per kind; while a call is in flight, the next batch gathers. At low load a settle goes out on the
 * next turn (no timer, no added latency); at high load one call settles up to 1,000 jobs.
 */
export class Settler {
  #completes: Pending<CompleteInput>[] = [];
  #fails: Pending<FailInput>[] = [];
  #releases: Pending<ReleaseInput>[] = [];
  #pumping: Promise<void> | undefined;

  constructor(private readonly store: QueueStore) {}

  complete(input: CompleteInput): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.#completes.push({ input, resolve, reject });
      this.#pump();
    });
  }

  fail(input: FailInput): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.#fails.push({ input, resolve, reject });
      this.#pump();
    });
  }

  release(input: ReleaseInput): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.#releases.push({ input, resolve, reject });
      this.#pump();
    });
  }

  #waiting(): boolean {
    return this.#completes.length > 0 || this.#fails.length > 0 || this.#releases.length > 0;
  }

  /** Resolves when every settle handed over so far has been answered by Redis. */
  async drain(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
  }

  #pump(): void {
    if (this.#pumping !== undefined) return;
    this.#pumping = this.#run().finally(() => {
      this.#pumping = undefined;
      // Settles that arrived after the last batch was taken.
      if (this.#waiting()) this.#pump();
    });
  }

  async #run(): Promise<void> {
    // Let the rest of this turn's settles join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#waiting()) {
      const completes = this.#completes.splice(0, MAX_BATCH);
      const fails = this.#fails.splice(0, MAX_BATCH);
      const releases = this.#releases.splice(0, MAX_BATCH);
      await Promise.all([
        send(completes, (inputs) => this.store.complete(inputs)),
        send(fails, (inputs) => this.store.fail(inputs)),
        send(releases, (inputs) => this.store.release(inputs)),
      ]);
    }
  }
}

async function send<T>(batch: Pending<T>[], call: (inputs: T[]) => Promise<SettleReply>): Promise<void> {
  if (batch.length === 0) return;
  try {
    const { statuses, at } = await call(batch.map((p) => p.input));
    batch.forEach((p, i) => p.resolve({ status: statuses[i] as StatusCode, at }));
  } catch (error) {
    for (const p of batch) p.reject(error);
  }
}

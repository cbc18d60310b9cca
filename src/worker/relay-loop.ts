import type { FlowRelay } from '../flows-relay.js';

/**
 * A Worker's share of relaying flows across Redis Cluster slots (src/flows-relay.ts): at once when one of
 * its settle calls wrote notes (kick), and a sweep every `intervalMs` for notes whose writer died before
 * relaying them and for parts of flows cut short. Kicks that come while a relay runs make one more run after
 * it, not one each.
 *
 * States: idle -> running (a relay or a sweep) -> idle, or running again once when kicked meanwhile.
 */
export class RelayLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly relay: FlowRelay,
    private readonly queue: string,
    private readonly intervalMs: number,
    private readonly flowPartTimeoutMs: number,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    if (this.#timer !== undefined) return;
    this.#run(() => this.relay.sweep(this.queue, this.flowPartTimeoutMs));
    this.#timer = setInterval(() => this.#run(() => this.relay.sweep(this.queue, this.flowPartTimeoutMs)), this.intervalMs);
    this.#timer.unref();
  }

  /** A settle call of this worker wrote notes: relay them now. */
  kick(): void {
    this.#run(() => this.relay.relay(this.queue));
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#running !== undefined) await this.#running;
  }

  #run(task: () => Promise<unknown>): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = task()
      .then(
        () => undefined,
        (error: unknown) => this.onError(error as Error),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.#run(() => this.relay.relay(this.queue));
        }
      });
  }
}

/**
 * An attempt's abort signal (ctx.signal), made only when the handler reads it. `new AbortController()`
 * per job took 4% of a worker's CPU in a 100,000-job drain (node --cpu-prof), and most handlers never
 * look at the signal. An abort that comes first (a timeout, a lost lease) is kept and shows on the signal
 * when it is made.
 */
export class AttemptSignal {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

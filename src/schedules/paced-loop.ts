/**
 * A loop of steps paced by the steps themselves: each step returns how long to sleep before the next
 * (0: go again at once). stop() ends the sleep at once and waits for a step in flight. The schedule runner
 * and the delayed-job promoter are both this loop; only their step differs.
 */
export abstract class PacedLoop {
  #loop: Promise<void> | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  /** One step; resolves with the ms to sleep before the next. Must not reject: it reports its own errors. */
  protected abstract step(): Promise<number>;

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const sleep = await this.step();
      if (sleep <= 0 || this.#stopped) continue;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, sleep);
      });
      this.#wake = undefined;
    }
  }
}

import type { ClaimedJob } from '../redis/job-fields.js';
import { AttemptSignal } from './attempt-signal.js';

/** One job a Worker runs: its delivery, its ctx.signal, and where its attempt is. */
export interface Running {
  readonly jobId: string;
  readonly abort: AttemptSignal;
  readonly claimed: ClaimedJob;
  /** Its handler returned or threw: its settle is on its way. */
  settling: boolean;
  /** close({ force }) gave it back while its handler ran: whatever the handler does later is dropped. */
  abandoned: boolean;
}

/**
 * The jobs a Worker has started and not settled. `size` counts the slots taken (a job's slot frees when
 * its handler is done, or, for a RateLimitError, once its release has landed); the tasks are whole
 * attempts, settle included, which a graceful close waits for. A forced close ends that wait (`force`) and
 * takes back the jobs whose handlers still run (`abandon`).
 */
export class RunningJobs {
  readonly #byEntry = new Map<string, Running>();
  readonly #tasks = new Set<Promise<void>>();
  #forced = false;
  #onForce: (() => void) | undefined;
  readonly #forcedWait = new Promise<void>((resolve) => (this.#onForce = resolve));

  get size(): number {
    return this.#byEntry.size;
  }

  get forced(): boolean {
    return this.#forced;
  }

  get(entry: string): Running | undefined {
    return this.#byEntry.get(entry);
  }

  /** Takes a slot for `claimed`. */
  add(claimed: ClaimedJob, jobId: string): Running {
    const running: Running = { jobId, abort: new AttemptSignal(), claimed, settling: false, abandoned: false };
    this.#byEntry.set(claimed.entry, running);
    return running;
  }

  /** Frees the slot of `entry`. */
  free(entry: string): void {
    this.#byEntry.delete(entry);
  }

  /** An attempt (or a settle of its own) in progress, until it ends. */
  track(task: Promise<void>): void {
    this.#tasks.add(task);
    const remove = (): void => void this.#tasks.delete(task);
    task.then(remove, remove);
  }

  /** Resolves when every task started so far has ended, or at force(). */
  async settled(): Promise<void> {
    while (this.#tasks.size > 0 && !this.#forced) await Promise.race([Promise.allSettled([...this.#tasks]), this.#forcedWait]);
  }

  force(): void {
    this.#forced = true;
    this.#onForce?.();
  }

  /** The jobs whose handlers still run, marked abandoned and their slots freed; `reason` aborts each signal. */
  abandon(reason: (running: Running) => Error): Running[] {
    const taken = [...this.#byEntry.values()].filter((running) => !running.settling && !running.abandoned);
    for (const running of taken) {
      running.abandoned = true;
      running.abort.abort(reason(running));
      this.#byEntry.delete(running.claimed.entry);
    }
    return taken;
  }
}

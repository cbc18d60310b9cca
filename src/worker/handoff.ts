import type { WakeRead, WorkSeen } from '../redis/blocking-reads.js';
import type { ClaimedJob } from '../redis/job-fields.js';

/** Past the worker's block timeout, how long its registration lasts: a read ends up to 100 ms late (Redis' 10 Hz cron). */
const REGISTRATION_GRACE_MS = 1000;

/**
 * A Worker's side of the handoff (lua/includes/handoff.lua): a claim that finds nothing registers the
 * claim's slots as waiters, and an add then claims a job for the worker in the add's own call and writes it
 * to the worker's wake stream, which the worker's blocking read returns: add -> handler start is one push
 * instead of a wake-up and a claim call. This keeps what the worker must know meanwhile: how many of its
 * slots are still registered (they stay taken from the worker's pool until then), the last wake entry read,
 * and the jobs handed in this wait, so that one returned both by a read and by the claim that ends the wait
 * is started once.
 *
 * Only a Worker with one claim loop registers: the loops of a partitioned Worker share one pool of slots,
 * and a loop holding slots for a quiet partition would starve the others.
 *
 * States: off (nothing registered) -> registered (a claim answered EMPTY with a wake id) -> fewer slots
 * registered (jobs handed) -> off (every slot handed, or a claim sent with the wait's end).
 */
export class HandoffWait {
  /** The slots the last registration named (their members stay named so, whichever adds took). */
  #registered = 0;
  /** Of those, the slots no read has accounted for: still waiting, or handed and not read yet. */
  #slots = 0;
  #from = '';
  readonly #started = new Set<string>();
  readonly #lifetimeMs: number;

  constructor(
    private readonly wakeKey: string,
    blockTimeout: number,
    /** False: this worker never registers (a partitioned Worker's loops). */
    private readonly enabled: boolean,
  ) {
    this.#lifetimeMs = blockTimeout + REGISTRATION_GRACE_MS;
  }

  /** The slots still registered: taken from the worker's pool, for jobs an add may hand it. */
  get registered(): number {
    return this.#slots;
  }

  /**
   * claim's `wait` argument, asked as the call leaves: how long to stay registered should it find nothing,
   * and, while registered, the end of that wait (from then on nothing more is handed).
   */
  claimArg(): string {
    const ms = this.enabled ? this.#lifetimeMs : 0;
    if (this.#slots === 0) return String(ms);
    const arg = `${ms}:${this.#registered}:${this.#slots}:${this.#from}`;
    this.#slots = 0;
    return arg;
  }

  /** A claim registered `slots` slots (its count), to be read after wake entry `from`. */
  register(slots: number, from: string): void {
    this.#registered = slots;
    this.#slots = slots;
    this.#from = from;
    this.#started.clear();
  }

  /** What the blocking read takes from the wake stream; undefined when nothing is registered. */
  read(): WakeRead | undefined {
    return this.#slots > 0 ? { key: this.wakeKey, from: this.#from, count: this.#slots } : undefined;
  }

  /** The jobs a read returned that were handed to this worker, each once; they use registered slots. */
  handed(seen: WorkSeen | undefined): ClaimedJob[] {
    if (seen === undefined || seen.handed.length === 0) return [];
    const jobs: ClaimedJob[] = [];
    for (const { wakeId, job } of seen.handed) {
      this.#from = wakeId;
      if (this.#started.has(job.entry)) continue;
      this.#started.add(job.entry);
      this.#slots = Math.max(0, this.#slots - 1);
      jobs.push(job);
    }
    return jobs;
  }

  /** Of a claim's jobs, those not started already from a read (the claim that ends a wait returns what was handed). */
  unseen(jobs: ClaimedJob[]): ClaimedJob[] {
    if (this.#started.size === 0) return jobs;
    return jobs.filter((job) => !this.#started.has(job.entry));
  }

  /**
   * Whether a read saw more than its handed jobs: a timeout, a ctl entry, or a level entry that is not a job
   * handed here (a job waits that no handoff took). Then the worker claims; else it reads on.
   */
  news(seen: WorkSeen | undefined): boolean {
    if (seen === undefined) return true;
    // handed() has put every job of this wait in #started, those of this read included.
    for (const { ids } of seen.seen) for (const id of ids) if (!this.#started.has(id)) return true;
    return false;
  }
}

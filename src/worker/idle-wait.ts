import type { BlockedConnection, BlockingReads, WakeRead, WorkSeen } from '../redis/blocking-reads.js';
import type { ClaimResult } from '../redis/replies.js';

/** Below this a local sleep beats a blocking read: the unblock could arrive before the read is blocked. */
const MIN_BLOCK_MS = 5;
/** The read's own timeout, past the local timer: a fallback should the unblock be lost. */
const UNBLOCK_GRACE_MS = 1000;

/** What claim answered when it had nothing to hand out. */
export type IdleClaim = Exclude<ClaimResult, { kind: 'jobs' | 'needs-init' }>;

/**
 * How an idle Worker waits for work: blocked on Redis (XREAD on the level streams and ctl; ctl alone while
 * paused) until an add, a resume, or blockTimeout, and, when claim said something becomes due sooner (a
 * delayed job, a rate window, a hold), woken on time by a local timer that ends the read with CLIENT UNBLOCK: Redis fires BLOCK
 * timeouts up to 100 ms late (its 10 Hz cron).
 */
export class IdleWait {
  /** The blocking connection's server-side id, refreshed on every (re)connect; needed to unblock it. */
  #blocked: BlockedConnection | undefined;
  #identifying = false;

  constructor(
    private readonly reads: BlockingReads,
    private readonly streams: { readonly ctl: string; readonly wait: readonly string[] },
    private readonly blockTimeout: number,
    private readonly onError: (error: Error) => void,
  ) {
    reads.blocking.on('ready', () => this.#identify());
  }

  /**
   * Waits as claim said; with `wake` (the worker registered for a handoff), on its wake stream too.
   * Returns what the read saw: undefined when it timed out, was ended on time by the local timer, or slept.
   */
  async until(claimed: IdleClaim, wake?: WakeRead): Promise<WorkSeen | undefined> {
    const { ctl, wait } = this.streams;
    // Paused: new jobs do not end the wait (they may not start), a resume on ctl does. The next delayed job's
    // due time still does: claim promotes it then, so a job that comes due while the queue is paused is
    // counted and listed as waiting (paused) at its time, not left delayed until blockTimeout.
    const paused = claimed.kind === 'paused';
    const streams = paused ? [ctl] : [ctl, ...wait];
    const ids = paused ? [claimed.ctlId] : [claimed.ctlId, ...claimed.waitIds];
    const due = claimed.nextDueMs;
    if (due < 0 || due >= this.blockTimeout) return this.reads.waitForWork(streams, ids, this.blockTimeout, wake);
    const blocked = this.#blocked;
    // On a cluster a failover or resharding moves the queue's slot, and with it the node connection the
    // read blocks on, without a new 'ready': then the old id is of no use, and is asked again.
    if (blocked === undefined || !this.reads.stillBlocksOn(blocked)) this.#identify();
    if (due <= MIN_BLOCK_MS || blocked === undefined || blocked !== this.#blocked) {
      await new Promise((resolve) => setTimeout(resolve, due));
      return undefined;
    }
    const timer = setTimeout(() => {
      this.reads.unblock(blocked).catch((error: Error) => this.onError(error));
    }, due);
    try {
      return await this.reads.waitForWork(streams, ids, due + UNBLOCK_GRACE_MS, wake);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the current blocking read now, as if it had timed out; a no-op while the connection's id is unknown (the read then ends at its timeout). */
  interrupt(): void {
    const blocked = this.#blocked;
    if (blocked !== undefined) this.reads.unblock(blocked).catch((error: Error) => this.onError(error));
  }

  #identify(): void {
    if (this.#identifying) return;
    this.#identifying = true;
    this.#blocked = undefined;
    this.reads.connectionId().then(
      (blocked) => {
        this.#blocked = blocked;
        this.#identifying = false;
      },
      () => (this.#identifying = false),
    );
  }
}

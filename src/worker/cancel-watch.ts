import { JobCancelledError, LeaseLostError } from '../errors.js';
import type { ControlStore } from '../redis/control-store.js';

/**
 * How a running job's worker learns that a person cancelled it (lua/cancel.lua), through the channel that
 * tells it about a lost lease: the lease extension's reply. A cancel acknowledges the job's delivery, as
 * recover-stalled does when it takes one back, so the next extension reports it lost, and the worker aborts
 * its ctx.signal.
 *
 * The extension runs every heartbeatInterval (stalledTimeout / 3: 10 s by default), and a cancel should
 * reach a running job within a second. Extending every XCLAIM each half second would cost Redis work per
 * held job; blocking the worker's idle connection on a cancel stream while all its slots run would cost a
 * read and an unblock per busy period, at concurrency 1 per job. Instead, between two extensions the lease
 * timer ticks every WATCH_MS while the worker runs jobs, and a tick reads one counter (meta `cancels`, which
 * a cancel of a running job increments): when it moved, the extension runs at once. One HGET per busy
 * worker per half second, nothing per job, nothing for an idle worker; a cancel reaches its worker within
 * WATCH_MS plus three round trips (the read, the extension, the reasons).
 */
export const WATCH_MS = 500;

export class CancelWatch {
  #seen: number | undefined;

  constructor(private readonly control: ControlStore) {}

  /** Whether a running job of the queue was cancelled since the last call (the first call says yes). */
  async moved(): Promise<boolean> {
    const count = await this.control.cancelCount();
    const moved = count !== this.#seen;
    this.#seen = count;
    return moved;
  }

  /**
   * What each of these jobs, whose deliveries this worker lost, aborts with: JobCancelledError for one a
   * person cancelled, LeaseLostError for one taken back as stalled (or when Redis cannot say which).
   */
  async whyLost(jobIds: readonly string[]): Promise<(jobId: string) => Error> {
    let cancelled = new Map<string, string>();
    try {
      cancelled = await this.control.cancelled(jobIds);
    } catch {
      // Redis could not say: the lease is lost either way.
    }
    return (jobId) => {
      const reason = cancelled.get(jobId);
      return reason === undefined ? new LeaseLostError(jobId, 'the lease ran out and the job was handed to another worker') : new JobCancelledError(jobId, reason);
    };
  }
}

// What the operators' bulk calls (retryJobs, clean, promoteJobs) report while they work, for a progress
// bar: they already go in steps of at most 1,000 jobs, and report after each step. Not passing a callback
// costs nothing (clean's extra count is only read for one).

/** How far a bulk call of a Queue has come, as {@link BulkOptions.onProgress} hears it. */
export interface BulkProgress {
  /** Jobs looked at so far: acted on, or passed over (running meanwhile, unreadable). */
  done: number;
  /** Jobs the call set out to look at: those in the set when it began (clean: those older than the cut). */
  total: number;
}

/** Options of {@link Queue.retryJobs}, {@link Queue.clean} and {@link Queue.promoteJobs}. */
export interface BulkOptions {
  /**
   * Called after each step with how far the call has come. It runs inside the call, between two steps:
   * keep it short, and do not throw (a throw ends the call; the steps done stay done).
   *
   * @defaultValue none: nothing is reported, and `clean` does not count its jobs first
   */
  onProgress?: (progress: BulkProgress) => void;
}

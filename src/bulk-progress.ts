/**
 * What the operators' bulk calls (retryJobs, clean, promoteJobs) report while they work, for a progress
 * bar: they already go in steps of at most 1,000 jobs, and report after each step. Not passing a callback
 * costs nothing (clean's extra count is only read for one).
 */
export interface BulkProgress {
  /** Jobs looked at so far: acted on, or passed over (running meanwhile, unreadable). */
  done: number;
  /** Jobs the call set out to look at: those in the set when it began (clean: those older than the cut). */
  total: number;
}

export interface BulkOptions {
  /** Called after each step. It runs inside the call: keep it short, and do not throw. */
  onProgress?: (progress: BulkProgress) => void;
}

/**
 * The states a job can be in, and what a queue reports of them: the exact counts (`getCounts`) and the
 * metrics exporter's read (`getMetrics`). Types only; the scripts that count are lua/get-counts.lua and
 * lua/metrics.lua, read in src/redis/replies.ts.
 */

/** `blocked`: waiting for the jobs it depends on (src/flows.ts); it cannot be claimed until they ended. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'blocked', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Counts {
  waiting: number;
  active: number;
  delayed: number;
  /** Jobs waiting for their dependencies (queue.addFlow, or add with dependsOn). */
  blocked: number;
  completed: number;
  failed: number;
  /** Jobs waiting while the queue is paused (then `waiting` is 0). */
  paused: number;
  /** Waiting jobs (counted in `waiting` or `paused`) whose group is held back by its limits right now. */
  limited: number;
}

/**
 * What the metrics exporter reports for a queue: one script call, O(priority levels), no scans. The
 * counts are as in Counts (completed and failed: the jobs still kept, as retention decides).
 */
export interface QueueMetrics extends Omit<Counts, 'limited'> {
  isPaused: boolean;
  /** Ungrouped jobs waiting on each priority level (index = level), paused or not. */
  waitingByLevel: number[];
  /** Grouped jobs waiting in their groups, paused or not (their level is not tracked per group). */
  waitingGrouped: number;
  /** Waiting jobs whose group a limit holds back; null when more than 1,000 groups are held (not counted). */
  limited: number | null;
  /** Groups held back by a rate window, a hold or their concurrency. */
  limitedGroups: number;
  /** How long the oldest ungrouped waiting job has been ready, in ms; null when none waits. */
  oldestWaitingMs: number | null;
  /** Jobs completed since the queue was created (counted by the settle scripts; reset by obliterate). */
  completedTotal: number;
  /** Jobs failed for good (attempts used up, or stalled too often) since the queue was created. */
  failedTotal: number;
}

/**
 * The states a job can be in, and what a queue reports of them: the exact counts (`getCounts`) and the
 * metrics exporter's read (`getMetrics`). Types only; the scripts that count are lua/get-counts.lua and
 * lua/metrics.lua, read in src/redis/replies.ts.
 */

export const JOB_STATES = ['waiting', 'active', 'delayed', 'blocked', 'completed', 'failed'] as const;
/**
 * The state a job is in: `waiting` (ready to run), `active` (a worker runs it), `delayed` (due later: a
 * `delay`, `runAt` or a retry's backoff), `blocked` (waiting for the jobs it depends on: queue.addFlow, or
 * add with `dependsOn`; no worker can take it until they ended), `completed`, `failed` (for good).
 * Finished jobs are kept as `removeOnComplete` and `removeOnFail` say.
 *
 * @useDeclaredType
 */
export type JobState = (typeof JOB_STATES)[number];

/** Exact job counts of a queue ({@link Queue.getCounts}): kept by the scripts, read without scans. */
export interface Counts {
  /** Jobs ready to run now (0 while the queue is paused: see `paused`). */
  waiting: number;
  /** Jobs a worker is running. */
  active: number;
  /** Jobs due later: a delay, a `runAt`, or a retry's backoff. */
  delayed: number;
  /** Jobs waiting for their dependencies (queue.addFlow, or add with dependsOn). */
  blocked: number;
  /** Completed jobs still kept by retention. */
  completed: number;
  /** Jobs failed for good still kept by retention. */
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
  /** Whether the queue is paused. */
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

/** Jobs that ended in one minute of Redis' clock (Queue#getMetricsHistory). */
export interface MinuteCounts {
  /** The minute's start (ms since the epoch, Redis' clock). */
  minute: number;
  /** Jobs completed in that minute. */
  completed: number;
  /** Jobs failed for good in that minute (a retry is not counted). */
  failed: number;
}

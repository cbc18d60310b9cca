/**
 * The JSON documents the commands print with --json: stable shapes, documented in
 * docs/guide/dashboard-and-cli.md ("Command line"), so scripts can rely on them. A field is added, never
 * renamed or removed, without a major version.
 * Instants are ms since the epoch on Redis' clock (as Job's fields), absent values are null.
 */
import type { Job } from '../job.js';
import type { JobState, MinuteCounts, QueueMetrics } from '../states.js';
import type { ScheduleInfo } from '../schedules/definition.js';
import type { RateWindow } from '../queue-settings.js';
import { unpackTraceContext } from '../telemetry/trace-context.js';

export interface CountsDoc {
  /** Could start now; 0 while paused. */
  waiting: number;
  /** Waiting in a paused queue. */
  paused: number;
  active: number;
  delayed: number;
  /** Waiting for the jobs they depend on (flows). */
  blocked: number;
  completed: number;
  failed: number;
}

export type QueueRowDoc = { name: string; paused: boolean; counts: CountsDoc; oldestWaitingMs: number | null } | { name: string; error: string };

export interface QueuesDoc {
  prefix: string;
  queues: QueueRowDoc[];
}

export interface StatsDoc {
  queue: string;
  paused: boolean;
  counts: CountsDoc;
  waitingByLevel: number[];
  waitingGrouped: number;
  limited: number | null;
  limitedGroups: number;
  oldestWaitingMs: number | null;
  completedTotal: number;
  failedTotal: number;
  rateLimit: { max: number; duration: number } | null;
  startedInWindow: number;
  heldUntil: number | null;
}

export interface HistoryDoc {
  queue: string;
  /** Every minute asked for, oldest first, the current one last; `minute` is its start. */
  minutes: MinuteCounts[];
}

export interface JobSummaryDoc {
  id: string;
  name: string;
  state: JobState;
  group: string | null;
  priority: number;
  attemptsMade: number;
  attemptsStarted: number;
  timestamp: number;
  processedOn: number | null;
  finishedOn: number | null;
  dueAt: number | null;
  failedReason: string | null;
  /** The job's labels (the job option `labels`); empty for none. */
  labels: string[];
}

export interface JobsDoc {
  queue: string;
  state: JobState;
  /** Jobs in the state (waiting: paused ones included). */
  total: number;
  offset: number;
  limit: number;
  filter: { name: string | null; group: string | null; label: string | null };
  /** With a filter: how many jobs of the state were looked through, and whether there were more. */
  scanned: { looked: number; more: boolean } | null;
  jobs: JobSummaryDoc[];
}

export interface JobDoc {
  queue: string;
  job: JobSummaryDoc & {
    stalledCounter: number;
    progress: unknown;
    data: unknown;
    returnvalue: unknown;
    opts: unknown;
    stacktrace: string | null;
    traceId: string | null;
    /** The job's meta (the Queue's `context()` and the `meta` option), null for none. */
    meta: unknown;
    /** The worker that runs or ran it, when known. */
    processedBy: string | null;
    /** The newest log lines, oldest first. */
    logs: string[];
    /** Whether older lines exist than `logs` holds. */
    olderLogs: boolean;
  };
}

export interface ScheduleDoc {
  id: string;
  spec: Record<string, unknown>;
  job: { name: string; data: unknown; priority: number; opts: unknown };
  next: number | null;
  runs: number;
}

export interface SchedulesDoc {
  queue: string;
  schedules: ScheduleDoc[];
}

export function countsDoc(m: QueueMetrics): CountsDoc {
  return { waiting: m.waiting, paused: m.paused, active: m.active, delayed: m.delayed, blocked: m.blocked, completed: m.completed, failed: m.failed };
}

export function statsDoc(queue: string, m: QueueMetrics, window: RateWindow): StatsDoc {
  return {
    queue,
    paused: m.isPaused,
    counts: countsDoc(m),
    waitingByLevel: m.waitingByLevel,
    waitingGrouped: m.waitingGrouped,
    limited: m.limited,
    limitedGroups: m.limitedGroups,
    oldestWaitingMs: m.oldestWaitingMs,
    completedTotal: m.completedTotal,
    failedTotal: m.failedTotal,
    rateLimit: window.limit === null ? null : { max: window.limit.max, duration: window.limit.duration },
    startedInWindow: window.started,
    heldUntil: window.heldUntil?.getTime() ?? null,
  };
}

export function jobSummaryDoc(job: Job): JobSummaryDoc {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    group: job.group ?? null,
    priority: job.priority,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    timestamp: job.timestamp,
    processedOn: job.processedOn ?? null,
    finishedOn: job.finishedOn ?? null,
    dueAt: job.dueAt ?? null,
    failedReason: job.failedReason ?? null,
    labels: job.opts.labels ?? [],
  };
}

export function jobDoc(queue: string, job: Job, logs: string[], olderLogs: boolean): JobDoc {
  return {
    queue,
    job: {
      ...jobSummaryDoc(job),
      stalledCounter: job.stalledCounter,
      progress: job.progress ?? null,
      data: job.data ?? null,
      returnvalue: job.returnvalue ?? null,
      opts: job.opts,
      stacktrace: job.stacktrace ?? null,
      traceId: unpackTraceContext(job.traceContext)?.traceId ?? null,
      meta: job.meta ?? null,
      processedBy: job.processedBy ?? null,
      logs,
      olderLogs,
    },
  };
}

export function scheduleDoc(schedule: ScheduleInfo): ScheduleDoc {
  const spec: Record<string, unknown> = { ...schedule.spec };
  for (const key of ['startAt', 'endAt']) {
    const value = spec[key];
    if (value instanceof Date) spec[key] = value.getTime();
  }
  const { name, data, priority, opts } = schedule.job;
  return { id: schedule.id, spec, job: { name, data: data ?? null, priority, opts }, next: schedule.next?.getTime() ?? null, runs: schedule.runs };
}

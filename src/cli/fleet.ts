/**
 * The commands that read who works on a queue and how its jobs are labelled: `sluice workers` (the
 * heartbeat registry behind queue.getWorkers()) and `sluice labels` (queue.getLabels(), the label index's
 * counts). The dashboard reads the same.
 */
import type { WorkerInfo } from '../worker/heartbeat.js';
import type { LabelUse } from '../labels.js';
import { defineCommand, integer, type Command } from './arguments.js';
import { relativeTime } from './durations.js';
import { cell, emit, plural, safeText, table, type Column } from './output.js';
import { withSession } from './session.js';

// ---- sluice workers <queue> ----

export interface WorkerDoc {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  running: number;
  paused: boolean;
  startedAt: number;
  lastHeartbeat: number;
}

export interface WorkersDoc {
  queue: string;
  /** Redis' time when read, in ms: what lastHeartbeat is compared with. */
  now: number;
  workers: WorkerDoc[];
}

function workerDoc(info: WorkerInfo): WorkerDoc {
  const { id, host, pid, concurrency, running, paused } = info;
  return { id, host, pid, concurrency, running, paused, startedAt: info.startedAt.getTime(), lastHeartbeat: info.lastHeartbeat.getTime() };
}

export const workersCommand: Command = defineCommand(
  { command: 'workers', positionals: ['queue'], flags: {} },
  {
    synopsis: 'workers <queue>                the workers alive: host, pid, concurrency, running jobs',
    usage: `Usage: sluice workers <queue> [options]

The workers of a queue that are alive, as their heartbeats say: host, pid, concurrency, jobs running,
their own pause, and the last heartbeat. A worker that missed 3 heartbeats is gone from the list.
`,
  },
  ({ common, positionals: [queue = ''] }) =>
    async () => {
      const doc = await withSession(common, async (session): Promise<WorkersDoc> => {
        const q = await session.queue(queue);
        const [workers, now] = await Promise.all([q.getWorkers(), q.store.time()]);
        return { queue, now, workers: workers.map(workerDoc) };
      });
      emit(common.json, doc, showWorkers);
      return 0;
    },
);

function showWorkers(doc: WorkersDoc): string {
  if (doc.workers.length === 0) return `No worker of ${safeText(doc.queue)} is alive.\n`;
  const columns: Column[] = [
    { header: 'WORKER' },
    { header: 'HOST' },
    { header: 'PID', align: 'right' },
    { header: 'RUNNING', align: 'right' },
    { header: 'CONCURRENCY', align: 'right' },
    { header: 'STATE' },
    { header: 'LAST HEARTBEAT' },
  ];
  const rows = doc.workers.map((w) => [cell(w.id), cell(w.host), String(w.pid), String(w.running), String(w.concurrency), w.paused ? 'paused' : 'claiming', relativeTime(w.lastHeartbeat, doc.now)]);
  return `${table(columns, rows)}${plural(doc.workers.length, 'worker')} of ${safeText(doc.queue)} alive\n`;
}

// ---- sluice labels <queue> ----

export interface LabelsDoc {
  queue: string;
  labels: LabelUse[];
}

export const labelsCommand: Command = defineCommand(
  { command: 'labels', positionals: ['queue'], flags: { limit: { type: 'string', short: 'n' } } },
  {
    synopsis: 'labels <queue> [--limit 100]   the labels in use, with how many jobs carry each',
    usage: `Usage: sluice labels <queue> [options]

The labels the queue's jobs carry now (the job option labels), each with how many jobs carry it,
whatever their state. 'sluice jobs <queue> --state <state> --label <label>' lists them.

Options:
  -n, --limit <n>       how many labels (default 100, at most 10,000)
`,
  },
  ({ common, flags, positionals: [queue = ''] }) => {
    const limit = integer('--limit', flags.string('limit'), 1, 10_000) ?? 100;
    return async () => {
      const doc = await withSession(common, async (session): Promise<LabelsDoc> => ({ queue, labels: await (await session.queue(queue)).getLabels(limit) }));
      emit(common.json, doc, (d) =>
        d.labels.length === 0 ? `No job of ${safeText(d.queue)} has a label.\n` : table([{ header: 'LABEL' }, { header: 'JOBS', align: 'right' }], d.labels.map((l) => [cell(l.label), String(l.jobs)])),
      );
      return 0;
    };
  },
);

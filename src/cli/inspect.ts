/**
 * The commands that look: queues, stats, jobs, job, schedules. Each reads through the Queue's own methods
 * (the same the dashboard calls), builds its JSON document (documents.ts), and prints that document or a
 * table made from it.
 */
import { DecodeError, JobNotFoundError, QueueNotFoundError, ValidationError } from '../errors.js';
import { JOB_STATES, type JobState } from '../states.js';
import { HISTORY_MINUTES } from '../redis/history.js';
import { defineCommand, integer, oneOf, type Command } from './arguments.js';
import {
  countsDoc,
  jobDoc,
  jobSummaryDoc,
  scheduleDoc,
  statsDoc,
  type HistoryDoc,
  type JobDoc,
  type JobsDoc,
  type QueueRowDoc,
  type QueuesDoc,
  type SchedulesDoc,
  type StatsDoc,
} from './documents.js';
import { formatDuration, relativeTime } from './durations.js';
import { cell, emit, fields, plural, preview, pretty, safeBlock, safeText, table, timestamp, type Column } from './output.js';
import { withSession } from './session.js';

/** `sluice job` shows the newest log lines, as the dashboard's job page does. */
const LOG_LINES = 200;
/** A filtered `sluice jobs` looks through at most this many jobs of the state, 500 per read. */
export const FILTER_SCAN = 10_000;
const MAX_LIMIT = 1000;

// ---- sluice queues ----

export const queuesCommand: Command = defineCommand(
  { command: 'queues', positionals: [], flags: {} },
  {
    synopsis: 'queues                         every queue of the prefix with its counts',
    usage: `Usage: sluice queues [options]

Lists every queue of the prefix, as its registry (<prefix>:queues) holds them, with exact counts per
state. A queue is registered once a Queue, Worker or Scheduler of it has started.
`,
  },
  ({ common }) =>
    async () => {
      const doc = await withSession(common, async (session): Promise<QueuesDoc> => {
        const names = await session.names();
        const queues = await Promise.all(
          names.map(async (name): Promise<QueueRowDoc> => {
            try {
              const metrics = await (await session.queue(name)).getMetrics();
              return { name, paused: metrics.isPaused, counts: countsDoc(metrics), oldestWaitingMs: metrics.oldestWaitingMs };
            } catch (error) {
              // One odd registry entry must not hide the other queues; Redis failing fails the command.
              if (error instanceof QueueNotFoundError) return { name, error: 'registered, but not in Redis (obliterated?)' };
              if (error instanceof ValidationError || error instanceof DecodeError) return { name, error: error.message };
              throw error;
            }
          }),
        );
        return { prefix: session.prefix, queues };
      });
      emit(common.json, doc, showQueues);
      return 0;
    },
);

function showQueues(doc: QueuesDoc): string {
  if (doc.queues.length === 0) return `No queues under the prefix '${safeText(doc.prefix)}'.\n`;
  const columns: Column[] = [
    { header: 'QUEUE' },
    { header: 'STATE' },
    ...['WAITING', 'ACTIVE', 'DELAYED', 'BLOCKED', 'COMPLETED', 'FAILED'].map((header): Column => ({ header, align: 'right' })),
    { header: 'OLDEST WAITING' },
  ];
  const rows = doc.queues.map((row) => {
    if ('error' in row) return [cell(row.name), 'error', '', '', '', '', '', '', cell(row.error)];
    const c = row.counts;
    const counts = [c.waiting + c.paused, c.active, c.delayed, c.blocked, c.completed, c.failed].map(String);
    return [cell(row.name), row.paused ? 'paused' : 'running', ...counts, row.oldestWaitingMs === null ? '-' : formatDuration(row.oldestWaitingMs)];
  });
  return table(columns, rows);
}

// ---- sluice stats <queue> ----

export const statsCommand: Command = defineCommand(
  { command: 'stats', positionals: ['queue'], flags: {} },
  {
    synopsis: 'stats <queue>                  counts, levels, totals and the rate limit of a queue',
    usage: `Usage: sluice stats <queue> [options]

A queue's exact counts per state, waiting jobs per priority level and in groups, the oldest waiting
job's age, jobs held by group limits, completed and failed totals, and the queue-wide rate limit with
the starts in its current window.
`,
  },
  ({ common, positionals: [name = ''] }) =>
    async () => {
      const doc = await withSession(common, async (session): Promise<StatsDoc> => {
        const queue = await session.queue(name);
        const [metrics, window] = await Promise.all([queue.getMetrics(), queue.getRateWindow()]);
        return statsDoc(name, metrics, window);
      });
      emit(common.json, doc, showStats);
      return 0;
    },
);

function showStats(doc: StatsDoc): string {
  const c = doc.counts;
  const rate = doc.rateLimit === null ? 'none' : `${doc.rateLimit.max} per ${formatDuration(doc.rateLimit.duration)} (${doc.startedInWindow} started in the current window)`;
  return (
    `Queue ${safeText(doc.queue)}: ${doc.paused ? 'paused' : 'running'}\n` +
    fields([
      ['waiting', doc.paused ? `${c.paused} (paused)` : String(c.waiting)],
      ['active', String(c.active)],
      ['delayed', String(c.delayed)],
      ['blocked', String(c.blocked)],
      ['completed', String(c.completed)],
      ['failed', String(c.failed)],
      ['waiting per level', doc.waitingByLevel.map((n, level) => `${level}: ${n}`).join(', ')],
      ['waiting in groups', String(doc.waitingGrouped)],
      ['held by group limits', `${doc.limited === null ? 'over 1000 groups held (not counted)' : plural(doc.limited, 'job')} in ${plural(doc.limitedGroups, 'group')}`],
      ['oldest waiting', doc.oldestWaitingMs === null ? '-' : formatDuration(doc.oldestWaitingMs)],
      ['completed in all', String(doc.completedTotal)],
      ['failed in all', String(doc.failedTotal)],
      ['rate limit', rate],
      ['held until', timestamp(doc.heldUntil)],
    ])
  );
}

// ---- sluice history <queue> ----

export const historyCommand: Command = defineCommand(
  { command: 'history', positionals: ['queue'], flags: { minutes: { type: 'string', short: 'm' } } },
  {
    synopsis: 'history <queue> [--minutes 60]  jobs completed and failed per minute',
    usage: `Usage: sluice history <queue> [options]

Jobs completed and failed for good in each minute of Redis' clock, as the settle scripts count them
(queue.getMetricsHistory): the minutes with any, oldest first, and the totals. --json gives every minute.

Options:
  -m, --minutes <n>     how far back (default 60, at most ${HISTORY_MINUTES})
`,
  },
  ({ common, flags, positionals: [name = ''] }) => {
    const minutes = integer('--minutes', flags.string('minutes'), 1, HISTORY_MINUTES) ?? 60;
    return async () => {
      const doc = await withSession(common, async (session): Promise<HistoryDoc> => ({ queue: name, minutes: await (await session.queue(name)).getMetricsHistory({ minutes }) }));
      emit(common.json, doc, showHistory);
      return 0;
    };
  },
);

function showHistory(doc: HistoryDoc): string {
  const busy = doc.minutes.filter((m) => m.completed > 0 || m.failed > 0);
  const sum = (key: 'completed' | 'failed'): number => doc.minutes.reduce((total, m) => total + m[key], 0);
  const rows = busy.map((m) => [timestamp(m.minute).replace(/:00 UTC$/, ''), String(m.completed), String(m.failed)]);
  const totals = `In the last ${plural(doc.minutes.length, 'minute')}: ${sum('completed')} completed, ${sum('failed')} failed${busy.length < doc.minutes.length && busy.length > 0 ? ' (minutes with neither left out)' : ''}.\n`;
  return `${busy.length === 0 ? '' : table([{ header: 'MINUTE (UTC)' }, { header: 'COMPLETED', align: 'right' }, { header: 'FAILED', align: 'right' }], rows)}${totals}`;
}

// ---- sluice jobs <queue> --state <state> ----

export const jobsCommand: Command = defineCommand(
  {
    command: 'jobs',
    positionals: ['queue'],
    flags: { state: { type: 'string', short: 's' }, name: { type: 'string' }, group: { type: 'string' }, label: { type: 'string' }, limit: { type: 'string', short: 'n' }, offset: { type: 'string' } },
  },
  {
    synopsis: 'jobs <queue> --state <state> [--name n] [--group g] [--label l] [--limit 20]  the jobs in a state',
    usage: `Usage: sluice jobs <queue> --state <state> [options]

Lists a queue's jobs in one state: waiting and active in the order they run, delayed soonest first,
completed and failed newest first.

Options:
  -s, --state <state>   ${JOB_STATES.join(', ')} (required)
  --name <name>         only jobs of this name
  --group <group>       only jobs of this group
  --label <label>       only jobs with this label (read from the label index)
  -n, --limit <n>       how many to print (default 20, at most ${MAX_LIMIT})
  --offset <n>          skip this many first (default 0)

With --name, or --group outside the waiting state, it looks through at most ${FILTER_SCAN} jobs and says so;
a label is read from its index.
`,
  },
  ({ common, flags, positionals: [name = ''] }) => {
    const state = oneOf('--state', flags.string('state'), JOB_STATES);
    if (state === undefined) throw new ValidationError(`--state is required: one of ${JOB_STATES.join(', ')}`);
    const limit = integer('--limit', flags.string('limit'), 1, MAX_LIMIT) ?? 20;
    const offset = integer('--offset', flags.string('offset'), 0, 1_000_000_000) ?? 0;
    const filter = { name: flags.string('name') ?? null, group: flags.string('group') ?? null, label: flags.string('label') ?? null };
    return async () => {
      const doc = await withSession(common, async (session): Promise<JobsDoc> => {
        const queue = await session.queue(name);
        const metrics = await queue.getMetrics();
        const total = state === 'waiting' ? metrics.waiting + metrics.paused : metrics[state];
        const base = { queue: name, state, total, offset, limit, filter };
        if (filter.name === null && filter.group === null && filter.label === null) {
          const jobs = await queue.getJobs(state, offset, offset + limit - 1);
          return { ...base, scanned: null, jobs: jobs.map(jobSummaryDoc) };
        }
        const found = await queue.findJobs(state, {
          ...(filter.name === null ? {} : { name: filter.name }),
          ...(filter.group === null ? {} : { group: filter.group }),
          ...(filter.label === null ? {} : { label: filter.label }),
          start: offset,
          end: offset + limit - 1,
          scanLimit: FILTER_SCAN,
        });
        return { ...base, scanned: { looked: found.looked, more: !found.complete }, jobs: found.jobs.map(jobSummaryDoc) };
      });
      emit(common.json, doc, showJobs);
      return 0;
    };
  },
);

/** The column of a list that says when, for each state. */
const WHEN: Record<JobState, { header: string; of: (job: JobsDoc['jobs'][number]) => number | null }> = {
  waiting: { header: 'ADDED', of: (job) => job.timestamp },
  active: { header: 'STARTED', of: (job) => job.processedOn },
  delayed: { header: 'DUE', of: (job) => job.dueAt },
  blocked: { header: 'ADDED', of: (job) => job.timestamp },
  completed: { header: 'FINISHED', of: (job) => job.finishedOn },
  failed: { header: 'FAILED', of: (job) => job.finishedOn },
};

function showJobs(doc: JobsDoc): string {
  const when = WHEN[doc.state];
  const labelled = doc.jobs.some((job) => job.labels.length > 0);
  const columns: Column[] = [{ header: 'ID' }, { header: 'NAME' }, { header: 'GROUP' }, ...(labelled ? [{ header: 'LABELS' }] : []), { header: 'ATTEMPTS', align: 'right' }, { header: when.header }];
  if (doc.state === 'failed') columns.push({ header: 'REASON' });
  const rows = doc.jobs.map((job) => {
    const at = when.of(job);
    const labels = labelled ? [job.labels.length === 0 ? '-' : cell(job.labels.join(','))] : [];
    const row = [cell(job.id), cell(job.name), job.group === null ? '-' : cell(job.group), ...labels, String(job.attemptsMade), at === null ? '-' : timestamp(at)];
    if (doc.state === 'failed') row.push(job.failedReason === null ? '-' : cell(job.failedReason));
    return row;
  });
  const shown = doc.jobs.length === 0 ? 'none shown' : `showing ${doc.offset + 1}-${doc.offset + doc.jobs.length}`;
  let footer = `${plural(doc.total, `${doc.state} job`)} in ${safeText(doc.queue)}; ${shown}`;
  if (doc.scanned !== null) {
    footer = `${plural(doc.jobs.length, 'match', 'matches')} (${doc.scanned.looked} looked at, of ${plural(doc.total, `${doc.state} job`)})${doc.scanned.more ? '; more were not looked through' : ''}`;
  }
  return `${doc.jobs.length === 0 ? '' : table(columns, rows)}${footer}\n`;
}

// ---- sluice job <queue> <id> ----

export const jobCommand: Command = defineCommand(
  { command: 'job', positionals: ['queue', 'id'], flags: {} },
  {
    synopsis: 'job <queue> <id>               one job: data, state, attempts, error, logs',
    usage: `Usage: sluice job <queue> <id> [options]

One job: its state, name, group, priority, attempts, timestamps, progress, options, data and return
value (cut at 64 KiB here; whole with --json), failed reason and stack, trace id, and its newest
${LOG_LINES} log lines. Exits 1 when there is no such job.
`,
  },
  ({ common, positionals: [name = '', id = ''] }) =>
    async () => {
      const { doc, now } = await withSession(common, async (session) => {
        const queue = await session.queue(name);
        const job = await queue.getJob(id);
        if (job === undefined) throw new JobNotFoundError(name, id);
        const logs = await job.getLogs(-(LOG_LINES + 1), -1);
        const older = logs.length > LOG_LINES;
        return { doc: jobDoc(name, job, older ? logs.slice(1) : logs, older), now: await queue.store.time() };
      });
      emit(common.json, doc, (d) => showJob(d, now));
      return 0;
    },
);

function showJob({ queue, job }: JobDoc, now: number): string {
  const at = (ms: number | null): string => (ms === null ? '-' : `${timestamp(ms)} (${relativeTime(ms, now)})`);
  const block = (title: string, text: string): string => `${title}:\n${text.replace(/^/gm, '  ')}\n`;
  let out = `Job ${safeText(job.id)} in ${safeText(queue)}: ${job.state}\n`;
  out += fields([
    ['name', safeText(job.name)],
    ['group', job.group === null ? '-' : safeText(job.group)],
    ['labels', job.labels.length === 0 ? '-' : safeText(job.labels.join(', '))],
    ['priority', String(job.priority)],
    ['attempts', `${job.attemptsMade} made, ${job.attemptsStarted} started${job.stalledCounter > 0 ? `, ${job.stalledCounter} stalled` : ''}`],
    ['added', at(job.timestamp)],
    ['started', at(job.processedOn)],
    ['finished', at(job.finishedOn)],
    ['due', at(job.dueAt)],
    ['progress', job.progress === null ? '-' : preview(job.progress)],
    ['trace id', job.traceId ?? '-'],
    ['processed by', job.processedBy === null ? '-' : safeText(job.processedBy)],
    ['meta', job.meta === null ? '-' : preview(job.meta)],
  ]);
  out += block('Options', pretty(job.opts));
  out += block('Data', pretty(job.data));
  if (job.returnvalue !== null) out += block('Return value', pretty(job.returnvalue));
  if (job.failedReason !== null) out += block('Failed reason', safeBlock(job.failedReason));
  if (job.stacktrace !== null) out += block('Stack', safeBlock(job.stacktrace));
  if (job.logs.length > 0) out += block(job.olderLogs ? `Logs (the newest ${job.logs.length} lines; older ones are not shown)` : 'Logs', job.logs.map(safeBlock).join('\n'));
  return out;
}

// ---- sluice schedules <queue> ----

export const schedulesCommand: Command = defineCommand(
  { command: 'schedules', positionals: ['queue'], flags: {} },
  {
    synopsis: 'schedules <queue>              recurring schedules: spec, job, next run, runs',
    usage: `Usage: sluice schedules <queue> [options]

A queue's recurring schedules: each one's spec (cron or every), the job it enqueues, its next run
(none once it ended) and the jobs it has enqueued so far.
`,
  },
  ({ common, positionals: [name = ''] }) =>
    async () => {
      const { doc, now } = await withSession(common, async (session) => {
        const queue = await session.queue(name);
        const schedules = await queue.getSchedules();
        return { doc: { queue: name, schedules: schedules.map(scheduleDoc) } satisfies SchedulesDoc, now: await queue.store.time() };
      });
      emit(common.json, doc, (d) => showSchedules(d, now));
      return 0;
    },
);

function showSchedules(doc: SchedulesDoc, now: number): string {
  if (doc.schedules.length === 0) return `No schedules in ${safeText(doc.queue)}.\n`;
  const rows = doc.schedules.map((s) => {
    const { cron, tz, every } = s.spec;
    const spec = typeof cron === 'string' ? `cron ${cron} (${String(tz)})` : `every ${formatDuration(Number(every))}`;
    return [cell(s.id), cell(spec), cell(s.job.name), s.next === null ? 'ended' : `${timestamp(s.next)} (${relativeTime(s.next, now)})`, String(s.runs)];
  });
  return table([{ header: 'ID' }, { header: 'SPEC' }, { header: 'JOB' }, { header: 'NEXT RUN' }, { header: 'RUNS', align: 'right' }], rows);
}

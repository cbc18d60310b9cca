/**
 * The commands that act: retry, remove, promote, cancel, pause, resume, clean, drain. Each calls the Queue or Job method
 * of the same name, the one the dashboard's buttons call: there is no second way to change a job. The bulk
 * ones (retry --all-failed, promote --all, clean) go in the Queue's steps of at most 1,000 jobs and draw a
 * progress bar on stderr when it is a terminal.
 */
import { JobNotFoundError, ValidationError } from '../errors.js';
import type { BulkOptions } from '../bulk-progress.js';
import { defineCommand, oneOf, type Command, type Common } from './arguments.js';
import { formatDuration, parseDuration } from './durations.js';
import { emit, plural, safeText } from './output.js';
import { ProgressBar } from './progress.js';
import { withSession, type Session } from './session.js';

/** Runs a bulk call with a progress bar labelled `label`, cleared when it ends. */
async function withProgress<T>(label: string, call: (options: BulkOptions) => Promise<T>): Promise<T> {
  const bar = new ProgressBar(label);
  try {
    return await call({ onProgress: bar.update });
  } finally {
    bar.end();
  }
}

/** A job of the queue, or JobNotFoundError. */
async function jobOf(session: Session, queue: string, id: string) {
  const job = await (await session.queue(queue)).getJob(id);
  if (job === undefined) throw new JobNotFoundError(queue, id);
  return job;
}

/** Exactly one of a job id and the flag that means "all of them". */
function oneOrAll(command: string, id: string | undefined, all: boolean, flag: string): void {
  if (id !== undefined && all) throw new ValidationError(`sluice ${command} takes a job id or ${flag}, not both`);
  if (id === undefined && !all) throw new ValidationError(`sluice ${command} takes a job id, or ${flag} for every one`);
}

// ---- sluice retry <queue> <id> | --all-failed ----

export interface RetryDoc {
  queue: string;
  /** The job retried, or null for --all-failed. */
  id: string | null;
  retried: number;
}

export const retryCommand: Command = defineCommand(
  { command: 'retry', positionals: ['queue', 'id?'], flags: { 'all-failed': { type: 'boolean' } } },
  {
    synopsis: 'retry <queue> <id>|--all-failed  send failed jobs back to waiting',
    usage: `Usage: sluice retry <queue> <id> [options]
       sluice retry <queue> --all-failed [options]

Sends a failed (or completed) job back to waiting with its attempts reset; with --all-failed, every job
failed when the command starts, 1,000 per script call. Exits 1 when the job does not exist or is not
finished.

Options:
  --all-failed          every failed job of the queue
`,
  },
  ({ common, flags, positionals: [queue = '', id] }) => {
    const all = flags.flag('all-failed');
    oneOrAll('retry', id, all, '--all-failed');
    return async () => {
      const retried = await withSession(common, async (session) => {
        if (id === undefined) return withProgress(`retrying failed jobs of ${safeText(queue)}`, async (options) => (await session.queue(queue)).retryJobs('failed', options));
        await (await jobOf(session, queue, id)).retry();
        return 1;
      });
      const doc: RetryDoc = { queue, id: id ?? null, retried };
      emit(common.json, doc, () =>
        id === undefined ? `Sent ${plural(retried, 'failed job')} of ${safeText(queue)} back to waiting.\n` : `Sent job ${safeText(id)} of ${safeText(queue)} back to waiting.\n`,
      );
      return 0;
    };
  },
);

// ---- sluice remove <queue> <id> ----

export interface RemoveDoc {
  queue: string;
  id: string;
  removed: number;
}

export const removeCommand: Command = defineCommand(
  { command: 'remove', positionals: ['queue', 'id'], flags: {} },
  {
    synopsis: 'remove <queue> <id>            delete a job and its logs',
    usage: `Usage: sluice remove <queue> <id> [options]

Deletes a job and its logs. Exits 1 when there is no such job, or when it is running (wait for it).
`,
  },
  ({ common, positionals: [queue = '', id = ''] }) =>
    async () => {
      await withSession(common, async (session) => (await jobOf(session, queue, id)).remove());
      const doc: RemoveDoc = { queue, id, removed: 1 };
      emit(common.json, doc, () => `Removed job ${safeText(id)} from ${safeText(queue)}.\n`);
      return 0;
    },
);

// ---- sluice promote <queue> <id> | --all ----

export interface PromoteDoc {
  queue: string;
  /** The job promoted, or null for --all. */
  id: string | null;
  promoted: number;
}

export const promoteCommand: Command = defineCommand(
  { command: 'promote', positionals: ['queue', 'id?'], flags: { all: { type: 'boolean' } } },
  {
    synopsis: 'promote <queue> <id>|--all     move delayed jobs to waiting now',
    usage: `Usage: sluice promote <queue> <id> [options]
       sluice promote <queue> --all [options]

Moves a delayed job (waiting out its delay or a retry's backoff) to waiting now; with --all, every job
delayed when the command starts, soonest due first, 1,000 per step. Exits 1 when the job does not exist
or is not delayed.

Options:
  --all                 every delayed job of the queue
`,
  },
  ({ common, flags, positionals: [queue = '', id] }) => {
    const all = flags.flag('all');
    oneOrAll('promote', id, all, '--all');
    return async () => {
      const promoted = await withSession(common, async (session) => {
        const q = await session.queue(queue);
        if (id === undefined) return withProgress(`promoting delayed jobs of ${safeText(queue)}`, (options) => q.promoteJobs(options));
        await q.promoteJob(id);
        return 1;
      });
      const doc: PromoteDoc = { queue, id: id ?? null, promoted };
      emit(common.json, doc, () =>
        id === undefined ? `Promoted ${plural(promoted, 'delayed job')} of ${safeText(queue)} to waiting.\n` : `Promoted job ${safeText(id)} of ${safeText(queue)}: waiting now.\n`,
      );
      return 0;
    };
  },
);

// ---- sluice cancel <queue> <id> [--reason text] ----

export interface CancelDoc {
  queue: string;
  id: string;
  reason: string | null;
  cancelled: number;
}

export const cancelCommand: Command = defineCommand(
  { command: 'cancel', positionals: ['queue', 'id'], flags: { reason: { type: 'string' } } },
  {
    synopsis: 'cancel <queue> <id> [--reason text]  end a waiting, delayed or running job for good',
    usage: `Usage: sluice cancel <queue> <id> [options]

Ends a waiting, delayed or running job for good: it becomes failed with the reason 'cancelled' (or
'cancelled: <reason>') and is not retried; a running job's worker aborts its signal within about half a
second and its late result is refused. Exits 1 when there is no such job or it already ended.

Options:
  --reason <text>       why, kept in the job's failed reason
`,
  },
  ({ common, flags, positionals: [queue = '', id = ''] }) => {
    const reason = flags.string('reason');
    return async () => {
      await withSession(common, async (session) => (await session.queue(queue)).cancel(id, reason));
      const doc: CancelDoc = { queue, id, reason: reason ?? null, cancelled: 1 };
      emit(common.json, doc, () => `Cancelled job ${safeText(id)} of ${safeText(queue)}.\n`);
      return 0;
    };
  },
);

// ---- sluice drain <queue> --yes ----

export interface DrainDoc {
  queue: string;
  removed: number;
}

export const drainCommand: Command = defineCommand(
  { command: 'drain', positionals: ['queue'], flags: { yes: { type: 'boolean', short: 'y' } } },
  {
    synopsis: 'drain <queue> --yes            delete every waiting and delayed job (running ones stay)',
    usage: `Usage: sluice drain <queue> --yes [options]

Deletes every waiting and delayed job of the queue (paused ones too), with their logs, 1,000 per script
call, as 'sluice remove' deletes one; running jobs finish. It cannot be undone, so it asks for --yes.

Options:
  -y, --yes             yes, delete them
`,
  },
  ({ common, flags, positionals: [queue = ''] }) => {
    if (!flags.flag('yes')) throw new ValidationError('drain deletes every waiting and delayed job and cannot be undone: add --yes to go ahead');
    return async () => {
      const removed = await withSession(common, async (session) => (await session.queue(queue)).drain());
      const doc: DrainDoc = { queue, removed };
      emit(common.json, doc, () => `Deleted ${plural(removed, 'waiting or delayed job')} of ${safeText(queue)}.\n`);
      return 0;
    };
  },
);

// ---- sluice pause|resume <queue> ----

export interface PauseDoc {
  queue: string;
  paused: boolean;
}

function pauseCommand(paused: boolean): Command {
  const command = paused ? 'pause' : 'resume';
  return defineCommand(
    { command, positionals: ['queue'], flags: {} },
    {
      synopsis: paused ? 'pause <queue>                  workers take no new jobs (running ones finish)' : 'resume <queue>                 workers take jobs again',
      usage: `Usage: sluice ${command} <queue> [options]

${paused ? 'Pauses a queue: workers take no new jobs, running ones finish, adds keep working.' : 'Resumes a paused queue: workers take jobs again.'}
`,
    },
    ({ common, positionals: [queue = ''] }) =>
      async () => {
        await withSession(common, async (session) => {
          const q = await session.queue(queue);
          await (paused ? q.pause() : q.resume());
        });
        const doc: PauseDoc = { queue, paused };
        emit(common.json, doc, () => (paused ? `Paused ${safeText(queue)}: workers take no new jobs; running ones finish.\n` : `Resumed ${safeText(queue)}.\n`));
        return 0;
      },
  );
}

export const pause: Command = pauseCommand(true);
export const resume: Command = pauseCommand(false);

// ---- sluice clean <queue> --state completed --older-than 1h ----

export interface CleanDoc {
  queue: string;
  state: 'completed' | 'failed';
  olderThanMs: number;
  removed: number;
}

export const cleanCommand: Command = defineCommand(
  { command: 'clean', positionals: ['queue'], flags: { state: { type: 'string', short: 's' }, 'older-than': { type: 'string' } } },
  {
    synopsis: 'clean <queue> --state completed|failed --older-than <age>  delete the jobs that finished longer ago than <age>',
    usage: `Usage: sluice clean <queue> --state completed|failed --older-than <age> [options]

Deletes the completed (or failed) jobs that finished more than <age> ago on Redis' clock, with their
logs, 1,000 per step. Jobs that finish meanwhile are newer than the cut and stay.

Options:
  -s, --state <state>   completed or failed (required)
  --older-than <age>    30m, 1h, 7d, 1h30m... (units ms, s, m, h, d, w); 0 for all of them (required)
`,
  },
  ({ common, flags, positionals: [queue = ''] }) => {
    const state = oneOf('--state', flags.string('state'), ['completed', 'failed'] as const);
    if (state === undefined) throw new ValidationError('--state is required: completed or failed');
    const age = flags.string('older-than');
    if (age === undefined) throw new ValidationError('--older-than is required: the age of the jobs to delete, such as 1h or 7d (0 for all of them)');
    const olderThanMs = parseDuration('--older-than', age);
    return () => clean(common, queue, state, olderThanMs);
  },
);

async function clean(common: Common, queue: string, state: 'completed' | 'failed', olderThanMs: number): Promise<number> {
  const removed = await withSession(common, async (session) => {
    const q = await session.queue(queue);
    return withProgress(`deleting ${state} jobs of ${safeText(queue)}`, (options) => q.clean(state, olderThanMs, options));
  });
  const doc: CleanDoc = { queue, state, olderThanMs, removed };
  const age = olderThanMs === 0 ? '' : ` that finished more than ${formatDuration(olderThanMs)} ago`;
  emit(common.json, doc, () => `Deleted ${plural(removed, `${state} job`)} of ${safeText(queue)}${age}.\n`);
  return 0;
}

import { ScriptError } from '../errors.js';
import type { Counts, JobState, MinuteCounts, QueueMetrics } from '../states.js';
import { readDoneRecord } from './done-record.js';
import { entryJob, freshJob } from './entries.js';
import { readHash, type ClaimedJob, type StoredJob } from './job-fields.js';
import { Status, type StatusCode } from './status.js';

/**
 * Script replies decoded into typed values: each script's entry in scripts.ts names its decoder here, so a
 * store verb gets a typed value, and a reply of the wrong shape fails loudly (ScriptError) rather than being
 * guessed at. Scripts called for Buffers answer with Buffers for strings, the others with strings; numbers
 * are integers; arrays nest.
 */
export type Reply = Buffer | string | number | null | Reply[];

export function str(value: Reply | undefined): string {
  if (Buffer.isBuffer(value) || typeof value === 'string') return value.toString();
  if (typeof value === 'number') return String(value);
  throw new ScriptError(`expected a string in a script reply, got ${JSON.stringify(value)}`);
}

export function num(value: Reply | undefined): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value) || typeof value === 'string') {
    const n = Number(value.toString());
    if (Number.isFinite(n)) return n;
  }
  throw new ScriptError(`expected a number in a script reply, got ${JSON.stringify(value)}`);
}

function list(reply: unknown, what: string): Reply[] {
  if (!Array.isArray(reply)) throw new ScriptError(`${what} returned ${JSON.stringify(reply)}, not an array`);
  return reply as Reply[];
}

function status(value: Reply | undefined, what: string): StatusCode {
  const code = num(value);
  if (!(Object.values(Status) as number[]).includes(code)) throw new ScriptError(`${what} returned the unknown status ${code}`);
  return code as StatusCode;
}

export const none = (): void => undefined;

export function statusOf(what: string): (reply: unknown) => StatusCode {
  return (reply) => status(reply as Reply, what);
}

export function numberOf(what: string): (reply: unknown) => number {
  return (reply) => {
    if (typeof reply !== 'number') throw new ScriptError(`${what} returned ${JSON.stringify(reply)}, not a number`);
    return reply;
  };
}

/** What complete, fail and release answer: one status per job, in the batch's order, and Redis' time. */
export interface SettleReply {
  statuses: StatusCode[];
  /** Redis' time of the call (ms): finishedOn of the jobs it finished, what a retry's delay counts from. */
  at: number;
  /** The call wrote a note to the queue's outbox (a dependent in another Cluster slot): relay it (src/flows-relay.ts). */
  noted: boolean;
}

/** The 'noted' a settle script appends last when it wrote to the outbox (lua/complete.lua, lua/fail.lua). */
function notedAtEnd(values: readonly Reply[]): boolean {
  const last = values[values.length - 1];
  return (Buffer.isBuffer(last) || typeof last === 'string') && last.toString() === 'noted';
}

/** fail, release: one status per job, in the batch's order, then Redis' time, then 'noted' when it wrote a note. */
export function settleReply(reply: unknown): SettleReply {
  const values = list(reply, 'a settle script');
  const noted = notedAtEnd(values);
  return { ...settleValues(noted ? values.slice(0, -1) : values, 'a settle script'), noted };
}

function settleValues(values: readonly Reply[], what: string): Omit<SettleReply, 'noted'> {
  if (values.length === 0) throw new ScriptError(`${what} returned no time`);
  return { statuses: values.slice(0, -1).map((code) => status(code, what)), at: num(values[values.length - 1]) };
}

/** complete: the settle, and what the same call claimed when it was asked to (undefined when not). */
export interface CompleteReply extends SettleReply {
  claimed: ClaimResult | undefined;
}

/** complete: settleReply's values, then, when it claimed too, claim's reply as one nested array, then 'noted'. */
export function completeReply(reply: unknown): CompleteReply {
  const all = list(reply, 'complete');
  const noted = notedAtEnd(all);
  const values = noted ? all.slice(0, -1) : all;
  const last = values[values.length - 1];
  if (!Array.isArray(last)) return { ...settleValues(values, 'complete'), claimed: undefined, noted };
  return { ...settleValues(values.slice(0, -1), 'complete'), claimed: claimReply(last), noted };
}

/** init and check: a status, and for a mismatch what Redis recorded. */
export function initReply(reply: unknown): { status: StatusCode; recorded: number } {
  const values = list(reply, 'init or check');
  return { status: status(values[0], 'init or check'), recorded: values.length > 1 ? num(values[1]) : 0 };
}

/** add: per job its id, then OK or DUPLICATE. */
export function addReply(reply: unknown): { id: string; duplicate: boolean }[] {
  const values = list(reply, 'add');
  const out: { id: string; duplicate: boolean }[] = [];
  for (let i = 0; i + 1 < values.length; i += 2) {
    const code = status(values[i + 1], 'add');
    // Queue checks a job's priority before it sends it: a refusal here is a bug, not bad input.
    if (code !== Status.OK && code !== Status.DUPLICATE) throw new ScriptError(`add refused job ${str(values[i])} with status ${code}`);
    out.push({ id: str(values[i]), duplicate: code === Status.DUPLICATE });
  }
  return out;
}

/** batch-add: OK with the batch's id and its first member's id, or why nothing was written. */
export type BatchAddReply =
  | { status: typeof Status.OK; batch: string; first: number }
  | { status: typeof Status.BATCH_MISSING | typeof Status.BATCH_SEALED | typeof Status.BATCH_EXISTS | typeof Status.LEVELS_MISMATCH };

export function batchAddReply(reply: unknown): BatchAddReply {
  const values = list(reply, 'batch-add');
  const code = status(values[0], 'batch-add');
  if (code === Status.OK) return { status: code, batch: str(values[1]), first: num(values[2]) };
  if (code === Status.BATCH_MISSING || code === Status.BATCH_SEALED || code === Status.BATCH_EXISTS || code === Status.LEVELS_MISMATCH) return { status: code };
  throw new ScriptError(`batch-add returned status ${code}`);
}

/** deliver-notes: whether the jobs it ended wrote notes in turn, and how many 'd' notes found their part abandoned. */
export function deliverNotesReply(reply: unknown): { noted: boolean; lost: number } {
  const values = list(reply, 'deliver-notes');
  return { noted: num(values[0]) === 1, lost: num(values[1]) };
}

/** abandon-flow: how many jobs it ended and whether their cascade wrote notes, or why it did nothing. */
export type AbandonFlowReply = { status: typeof Status.OK; ended: number; noted: boolean } | { status: typeof Status.NOT_DUE | typeof Status.JOB_MISSING };

export function abandonFlowReply(reply: unknown): AbandonFlowReply {
  const values = list(reply, 'abandon-flow');
  const code = status(values[0], 'abandon-flow');
  if (code === Status.OK) return { status: code, ended: num(values[1]), noted: num(values[2]) === 1 };
  if (code === Status.NOT_DUE || code === Status.JOB_MISSING) return { status: code };
  throw new ScriptError(`abandon-flow returned status ${code}`);
}

/** add-flow: the ids of the jobs in order, or why nothing was written (lua/add-flow.lua's Returns). */
export function addFlowReply(reply: unknown): { ids: string[] } | { refused: StatusCode; detail: string } {
  const values = list(reply, 'add-flow');
  const code = status(values[0], 'add-flow');
  if (code !== Status.OK) return { refused: code, detail: str(values[1]) };
  return { ids: values.slice(1).map(str) };
}

export type ClaimResult =
  | { kind: 'jobs'; jobs: ClaimedJob[] }
  /** wakeFrom: where the worker's wake stream's read starts when it registered for a handoff, '' when not. */
  | { kind: 'empty' | 'paused'; nextDueMs: number; ctlId: string; wakeFrom: string; waitIds: string[] }
  | { kind: 'needs-init' };

/**
 * claim: the jobs handed out, each as its entry holds it (a fresh entry's four values, or a full entry's
 * field array: lua/claim.lua), or what an idle worker blocks on.
 */
export function claimReply(reply: unknown): ClaimResult {
  const values = list(reply, 'claim');
  const code = status(values[0], 'claim');
  if (code === Status.NEEDS_INIT) return { kind: 'needs-init' };
  if (code === Status.OK) {
    const n = num(values[1]);
    const processedOn = num(values[2]);
    const jobs: ClaimedJob[] = [];
    for (let i = 0, o = 3; i < n; i++) {
      const entry = str(values[o]);
      const stream = num(values[o + 1]);
      const fields = values[o + 2];
      let job: StoredJob;
      if (Array.isArray(fields)) {
        job = entryJob(entry, stream, fields, 'active', true);
        o += 3;
      } else {
        job = freshJob(entry, stream, fields ?? null, values[o + 3] ?? null, values[o + 4] ?? null, values[o + 5] ?? null, 'active', true);
        o += 6;
      }
      job.processedOn = processedOn;
      jobs.push(job as ClaimedJob);
    }
    return { kind: 'jobs', jobs };
  }
  if (code !== Status.EMPTY && code !== Status.PAUSED) throw new ScriptError(`claim returned status ${code}`);
  return {
    kind: code === Status.PAUSED ? 'paused' : 'empty',
    nextDueMs: num(values[1]),
    ctlId: str(values[2]),
    wakeFrom: str(values[3]),
    waitIds: values.slice(4).map(str),
  };
}

/** A job an add handed to this worker while it waited (lua/includes/handoff.lua), with its wake entry's id. */
export interface HandedJob {
  readonly wakeId: string;
  readonly job: ClaimedJob;
}

/**
 * An entry of a worker's wake stream: `e` the job's entry, `i` its stream's index, `t` Redis' time when it
 * was claimed (its processedOn), then the entry's own fields in either layout (entries.ts).
 */
export function handedJob(wakeId: string, fields: readonly Reply[]): HandedJob {
  if (str(fields[0]) !== 'e' || str(fields[2]) !== 'i' || str(fields[4]) !== 't') {
    throw new ScriptError(`wake entry ${wakeId} does not start with e, i and t: ${JSON.stringify(fields.slice(0, 6).map(String))}`);
  }
  const job = entryJob(str(fields[1]), num(fields[3]), fields.slice(6), 'active', true);
  job.processedOn = num(fields[5]);
  return { wakeId, job: job as ClaimedJob };
}

/** recover-stalled: jobs requeued and failed, and the entries it acknowledged that held no job. */
export function recoverReply(reply: unknown): { requeued: number; failed: number; strays: string[] } {
  const values = list(reply, 'recover-stalled');
  return { requeued: num(values[0]), failed: num(values[1]), strays: values.slice(2).map(str) };
}

/** A worker registry entry as get-workers returns it (src/worker/heartbeat.ts reads its info). */
export interface RegistryEntry {
  id: string;
  deadline: number;
  info: string | null;
}

/** get-workers: Redis' time, then (consumer, deadline, info) per worker alive. */
export function workersReply(reply: unknown): { now: number; entries: RegistryEntry[] } {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || reply.length % 3 !== 1) {
    throw new ScriptError(`get-workers returned ${JSON.stringify(reply).slice(0, 200)}, not its time and (id, deadline, info) triples`);
  }
  const entries: RegistryEntry[] = [];
  for (let i = 1; i < reply.length; i += 3) {
    const info: unknown = reply[i + 2];
    entries.push({ id: String(reply[i]), deadline: Number(reply[i + 1]), info: typeof info === 'string' ? info : null });
  }
  return { now: reply[0], entries };
}

export function strings(reply: unknown): string[] {
  return list(reply, 'a script').map(str);
}

/** retry-jobs: jobs looked at, sent back, and left in the set because their fields cannot be used. */
export function retryJobsReply(reply: unknown): { looked: number; revived: number; stayed: number } {
  const values = list(reply, 'retry-jobs');
  return { looked: num(values[0]), revived: num(values[1]), stayed: num(values[2]) };
}

/** get-counts: waiting, active, delayed, completed, failed, paused flag, limited. */
export function countsReply(reply: unknown): Counts {
  const [waiting, active, delayed, completed, failed, paused, limited, blocked] = list(reply, 'get-counts').map(num);
  if (blocked === undefined || limited === undefined) throw new ScriptError(`get-counts returned ${JSON.stringify(reply)}`);
  const ready = waiting ?? 0;
  const counts = { active: active ?? 0, delayed: delayed ?? 0, completed: completed ?? 0, failed: failed ?? 0, blocked };
  return paused === 1 ? { waiting: 0, ...counts, paused: ready, limited } : { waiting: ready, ...counts, paused: 0, limited };
}

/** metrics: see lua/metrics.lua's Returns. */
export function metricsReply(reply: unknown): QueueMetrics {
  const values = list(reply, 'metrics').map(num);
  if (values.length < 12) throw new ScriptError(`metrics returned ${JSON.stringify(reply)}`);
  const [isPaused = 0, active = 0, delayed = 0, completed = 0, failed = 0, completedTotal = 0, failedTotal = 0, grouped = 0, held = 0, limited = -1, oldest = -1, blocked = 0] =
    values;
  const waitingByLevel = values.slice(12);
  const total = waitingByLevel.reduce((sum, n) => sum + n, grouped);
  return {
    waiting: isPaused === 1 ? 0 : total,
    active,
    delayed,
    completed,
    failed,
    blocked,
    paused: isPaused === 1 ? total : 0,
    isPaused: isPaused === 1,
    waitingByLevel,
    waitingGrouped: grouped,
    limited: limited < 0 ? null : limited,
    limitedGroups: held,
    oldestWaitingMs: oldest < 0 ? null : oldest,
    completedTotal,
    failedTotal,
  };
}

/** metrics-history: see lua/metrics-history.lua's Returns. */
export function historyReply(reply: unknown): MinuteCounts[] {
  const [now, ...counts] = list(reply, 'metrics-history').map(num);
  if (now === undefined || counts.length % 2 !== 0) throw new ScriptError(`metrics-history returned ${JSON.stringify(reply)}`);
  const minutes = counts.length / 2;
  const first = (Math.floor(now / 60_000) - minutes + 1) * 60_000;
  return Array.from({ length: minutes }, (_, i) => ({ minute: first + i * 60_000, completed: counts[2 * i] ?? 0, failed: counts[2 * i + 1] ?? 0 }));
}

/** Values per job in a get-job or get-jobs reply: id, state, stream, entry, fields, progress (lua/get-job.lua). */
const VIEW_SIZE = 6;
/** The `stream` of a completed job's view: `fields` is its done record, `entry` its finish time. */
const DONE_VIEW = -2;

function asBuffer(value: Reply | undefined): Buffer | undefined {
  return Buffer.isBuffer(value) ? value : undefined;
}

/** The job at `o` of a get-job or get-jobs reply, from whichever home it was read. */
function readView(values: readonly Reply[], o: number): StoredJob | null {
  const id = str(values[o]);
  const state = str(values[o + 1]) as JobState;
  const stream = num(values[o + 2]);
  const fields = values[o + 4];
  const progress = asBuffer(values[o + 5]);
  if (stream === DONE_VIEW) {
    const record = asBuffer(fields);
    return record === undefined ? null : readDoneRecord(id, record, Buffer.from(str(values[o + 3])), progress);
  }
  if (!Array.isArray(fields)) return null;
  if (stream < 0) {
    // A job in its hash: (field, value) pairs; an empty hash is a job that went away meanwhile.
    if (fields.length === 0) return null;
    const pairs = new Map<string, Buffer>();
    for (let i = 0; i + 1 < fields.length; i += 2) pairs.set(str(fields[i]), asBuffer(fields[i + 1]) ?? Buffer.from(str(fields[i + 1])));
    return readHash(id, state, pairs);
  }
  const job = entryJob(str(values[o + 3]), stream, fields, state, false);
  if (progress !== undefined) job.progress = progress;
  return job;
}

/** get-job: the job, or null when there is no such job. */
export function jobReply(reply: unknown): StoredJob | null {
  const values = list(reply, 'get-job');
  return values.length < VIEW_SIZE ? null : readView(values, 0);
}

/** get-jobs: one page of jobs, in order. */
export function jobsReply(reply: unknown): StoredJob[] {
  const values = list(reply, 'get-jobs');
  const out: StoredJob[] = [];
  for (let o = 0; o + VIEW_SIZE <= values.length; o += VIEW_SIZE) {
    const job = readView(values, o);
    if (job !== null) out.push(job);
  }
  return out;
}

/** find-jobs' reply: how many index entries it looked at, and the jobs among them in the state asked for. */
export function foundReply(reply: unknown): { looked: number; jobs: StoredJob[] } {
  const values = list(reply, 'find-jobs');
  const jobs: StoredJob[] = [];
  for (let o = 1; o + VIEW_SIZE <= values.length; o += VIEW_SIZE) {
    const job = readView(values, o);
    if (job !== null) jobs.push(job);
  }
  return { looked: num(values[0]), jobs };
}

/**
 * What the scripts that change one job answer (update-data, change-priority, change-delay, promote-job,
 * cancel): a status, the job's state ('' when it is missing), and a time (a due time, a finish time; 0 when
 * none).
 */
export interface ControlReply {
  status: StatusCode;
  state: string;
  at: number;
}

export function controlReply(what: string): (reply: unknown) => ControlReply {
  return (reply) => {
    const values = list(reply, what);
    return { status: status(values[0], what), state: values[1] === undefined ? '' : str(values[1]), at: values[2] === undefined ? 0 : num(values[2]) };
  };
}

/** add-deduped: a status, the job's id (none for LEVELS_MISMATCH), and the job as it is now (null when gone). */
export function dedupedReply(reply: unknown): { status: StatusCode; id: string; job: StoredJob | null } {
  const values = list(reply, 'add-deduped');
  // The view is one nested array, as get-job returns it (lua/includes/view.lua).
  const view = values[2];
  const job = Array.isArray(view) && view.length >= VIEW_SIZE ? readView(view, 0) : null;
  return { status: status(values[0], 'add-deduped'), id: values[1] === undefined ? '' : str(values[1]), job };
}

/** upsert-schedule, fire-schedule: a status and the schedule's next run (-1: ended). */
export function scheduleReply(what: string): (reply: unknown) => { status: StatusCode; next: number } {
  return (reply) => {
    const values = list(reply, what);
    return { status: status(values[0], what), next: num(values[1]) };
  };
}

/** run-schedule: its status and the job id it made (or found made: DUPLICATE); '' when STALE. */
export function runScheduleReply(reply: unknown): { status: StatusCode; jobId: string } {
  const values = list(reply, 'run-schedule');
  return { status: status(values[0], 'run-schedule'), jobId: str(values[1]) };
}

/** promote-delayed: jobs promoted and ms until the next is due (-1: none), or 'needs-init'. */
export function promoteReply(reply: unknown): { promoted: number; nextDueMs: number } | 'needs-init' {
  const values = list(reply, 'promote-delayed');
  if (values.length === 1 && values[0] === Status.NEEDS_INIT) return 'needs-init';
  return { promoted: num(values[0]), nextDueMs: num(values[1]) };
}

/** due-schedules: Redis' clock, then per schedule its id, next run and definition (false unless due). */
export function dueSchedulesReply(reply: unknown): { now: number; schedules: { id: string; next: number; definition: Buffer | null }[] } {
  const values = list(reply, 'due-schedules');
  const schedules: { id: string; next: number; definition: Buffer | null }[] = [];
  for (let i = 1; i + 2 < values.length; i += 3) {
    schedules.push({ id: str(values[i]), next: num(values[i + 1]), definition: asBuffer(values[i + 2]) ?? null });
  }
  return { now: num(values[0]), schedules };
}

/** set-share, lower-share and raise-share: OK with the share and (not raise-share) what the partition uses, or STALE. */
export function moveShareReply(what: string): (reply: unknown) => { status: StatusCode; share: number; used: number } {
  return (reply) => {
    const values = list(reply, what);
    return { status: status(values[0], what), share: values.length > 1 ? num(values[1]) : 0, used: values.length > 2 ? num(values[2]) : 0 };
  };
}

/** One kind of a partition's limit share (get-shares): share 0 is none, epoch 0 no pool. */
export interface ShareRead {
  readonly share: number;
  readonly total: number;
  readonly epoch: number;
  /** Running jobs (concurrency) or starts in the current window (rate). */
  readonly used: number;
}

/** get-shares: a partition's concurrency and rate shares, and whether a claim waits at its concurrency. */
export function sharesReply(reply: unknown): { concurrency: ShareRead; rate: ShareRead & { duration: number }; waited: boolean } {
  const v = list(reply, 'get-shares').map((value) => num(value));
  const at = (i: number): number => v[i] ?? 0;
  return {
    concurrency: { share: at(0), total: at(1), epoch: at(2), used: at(7) },
    rate: { share: at(3), total: at(4), epoch: at(5), duration: at(6), used: at(9) },
    waited: at(8) === 1,
  };
}
